# monerod and monero-wallet-rpc from Debian's `monero` package.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends monero ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY docker/node-command.sh /usr/local/bin/node-command
RUN useradd --system --create-home monero
USER monero
WORKDIR /home/monero
