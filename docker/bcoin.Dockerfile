# bcoin 1.0.2 with the bdb patch (see node-facts: persistent mode needs it).
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /bcoin
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --no-audit --no-fund && grep -q "delete options\[k\]" node_modules/bdb/lib/db.js
COPY docker/node-command.sh /usr/local/bin/node-command
ENTRYPOINT ["node-command", "bcoin"]
