#!/usr/bin/env bash
# Once, before `docker compose up`: make the keys, pin the SFTP server's host key, choose a
# database password, and build ./home (the gateway's home, owned by you, mode 0700).
# Needs ssh-keygen and openssl. Never overwrites what exists: delete ./home, ./secrets and .env
# to start over.
set -euo pipefail
cd "$(dirname "$0")"
umask 077

if [ -e .env ] || [ -e home ] || [ -e secrets ]; then
    echo "setup.sh: .env, home/ or secrets/ already exist; nothing done" >&2
    exit 1
fi
mkdir -p secrets home/keys
ssh-keygen -q -t ed25519 -N "" -C gateway -f secrets/gateway_ed25519
ssh-keygen -q -t ed25519 -N "" -C sftp-host -f secrets/sftp_host_ed25519_key
cp secrets/gateway_ed25519 home/keys/gateway_ed25519
chmod 644 secrets/gateway_ed25519.pub   # the SFTP server reads it as its user
# The host key the gateway accepts for the sftp service, and no other (never learned).
echo "sftp $(cut -d' ' -f1,2 secrets/sftp_host_ed25519_key.pub)" > home/keys/known_hosts
password=$(openssl rand -hex 24)
printf 'UID=%s\nGID=%s\nPG_PASSWORD=%s\n' "$(id -u)" "$(id -g)" "$password" > .env
cp -r home-template/partners home/partners
sed "s/@PG_PASSWORD@/$password/" home-template/gateway.toml > home/gateway.toml
chmod 700 home home/partners home/keys
chmod 600 home/gateway.toml home/partners/*.toml home/keys/*
echo "setup.sh: ready; now: docker compose up --build -d" >&2
