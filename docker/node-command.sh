#!/bin/sh
# Runs a node of the compose file on the network its variable names (BITCOIN_NETWORK for
# bcoin, MONERO_NETWORK for monerod and monero-wallet-rpc: regtest, testnet or mainnet, as
# the engine's settings take them; regtest when unset), with the flags and data paths that
# network needs, then the arguments given:
#   node-command.sh bcoin --http-port=…
#   node-command.sh monerod --data-dir=…
#   node-command.sh monero-wallet-rpc --wallet-dir=…
# The regtest-only flags (Monero's offline chain of its own at difficulty 1) appear on
# regtest only. bcoin keeps each network's chain in /data/<network> (mainnet in /data, as
# bcoin does) and its wallets beside it. NODE_COMMAND_PRINT=1 prints the command instead
# of running it.
set -eu
program="$1"
shift
case "$program" in
  bcoin)
    network="${BITCOIN_NETWORK:-regtest}"
    case "$network" in
      regtest | testnet) bcoin_network="$network" data="/data/$network" ;;
      mainnet) bcoin_network="main" data="/data" ;;
      *) echo "node-command.sh: BITCOIN_NETWORK must be regtest, testnet or mainnet, not $network" >&2; exit 2 ;;
    esac
    set -- node /bcoin/node_modules/bcoin/bin/node "--network=$bcoin_network" --prefix=/data \
      "--wallet-prefix=$data" "$@"
    ;;
  monerod | monero-wallet-rpc)
    network="${MONERO_NETWORK:-regtest}"
    case "$program:$network" in
      monerod:regtest) flags="--regtest --offline --keep-fakechain --fixed-difficulty 1" ;;
      *:testnet) flags="--testnet" ;;
      # A wallet on regtest uses mainnet's address format, as its daemon does.
      *:mainnet | monero-wallet-rpc:regtest) flags="" ;;
      *) echo "node-command.sh: MONERO_NETWORK must be regtest, testnet or mainnet, not $network" >&2; exit 2 ;;
    esac
    # shellcheck disable=SC2086 # the flags are words
    set -- "$program" $flags "$@"
    ;;
  *) echo "node-command.sh: unknown node $program" >&2; exit 2 ;;
esac
if [ "${NODE_COMMAND_PRINT:-}" = "1" ]; then
  echo "$@"
  exit 0
fi
exec "$@"
