#!/bin/bash
# Stub for curl, tailscale, systemctl, apt-get, dnf, k3s and sh (the K3s installer) in the userdata
# sandbox (sandbox.ts). Records argv and env of every call to $SANDBOX/calls.log, and facts about
# secret files (mode, sha256 — never contents) to $SANDBOX/facts.log. Never touches the network.
set -u
name="$(basename "$0")"
state="$SANDBOX/state"
{
  printf 'CALL %s\n' "$name"
  for a in "$@"; do printf 'ARG %s\n' "$a"; done
  env | sort | sed 's/^/ENV /'
  printf 'END\n'
} >>"$SANDBOX/calls.log"

fail_http() { echo "curl: (22) The requested URL returned error: $1" >&2; exit 22; }

case "$name" in
curl)
  url="" out="" method=GET headers=""
  while [ $# -gt 0 ]; do
    case "$1" in
      -o) out="$2"; shift 2 ;;
      -X) method="$2"; shift 2 ;;
      -H) headers="$headers|$2"; shift 2 ;;
      --connect-timeout | --max-time | --retry | --retry-delay) shift 2 ;;
      http://* | https://*) url="$1"; shift ;;
      *) shift ;;
    esac
  done
  emit() { if [ -n "$out" ]; then printf '%s' "$1" >"$out"; else printf '%s' "$1"; fi; }
  case "$url" in
    http://169.254.169.254/latest/api/token)
      [ "$method" = PUT ] || fail_http 405
      [ -z "${STUB_IMDS_REFUSE:-}" ] || fail_http 403
      case "$headers" in *"|X-aws-ec2-metadata-token-ttl-seconds: "*) ;; *) fail_http 400 ;; esac
      emit "$STUB_IMDS_TOKEN" ;;
    http://169.254.169.254/latest/meta-data/*)
      case "$headers" in *"|X-aws-ec2-metadata-token: $STUB_IMDS_TOKEN"*) ;; *) fail_http 401 ;; esac
      case "${url#*/meta-data/}" in
        instance-id) emit "$STUB_INSTANCE_ID" ;;
        placement/availability-zone) emit "$STUB_AZ" ;;
        placement/region) emit "$STUB_REGION" ;;
        instance-type) emit "$STUB_INSTANCE_TYPE" ;;
        *) fail_http 404 ;;
      esac ;;
    http://169.254.169.254/latest/user-data)
      case "$headers" in *"|X-aws-ec2-metadata-token: $STUB_IMDS_TOKEN"*) ;; *) fail_http 401 ;; esac
      [ -n "${STUB_USER_DATA:-}" ] || fail_http 404
      emit "$STUB_USER_DATA" ;;
    https://get.k3s.io) emit "# stub K3s installer" ;;
    https://pkgs.tailscale.com/stable/*) emit "# stub of $url" ;;
    https://tailscale.com/install.sh) emit "# stub Tailscale installer" ;;
    https://github.com/k3s-io/k3s/releases/download/*/sha256sum-*.txt)
      # Checksums of the assets below (wrong ones with STUB_BAD_CHECKSUM), as the release lists them.
      version="${url#*/download/}" version="${version%%/*}"
      sums=""
      for asset in k3s k3s-arm64 k3s-airgap-images-amd64.tar.zst k3s-airgap-images-arm64.tar.zst; do
        sum="$(printf 'stub %s %s' "$asset" "$version" | sha256sum | cut -d' ' -f1)"
        [ -z "${STUB_BAD_CHECKSUM:-}" ] || sum="$(printf 'tampered %s' "$asset" | sha256sum | cut -d' ' -f1)"
        sums="${sums}${sum}  ${asset}
"
      done
      emit "$sums" ;;
    https://github.com/k3s-io/k3s/releases/download/*)
      version="${url#*/download/}" version="${version%%/*}"
      emit "stub ${url##*/} ${version}" ;;
    *) echo "stub curl: refusing unexpected URL '$url'" >&2; exit 7 ;;
  esac ;;
tailscale)
  case "${1:-}" in
    up)
      for a in "$@"; do
        case "$a" in --auth-key=file:*)
          f="${a#--auth-key=file:}"
          if [ -f "$f" ]; then
            printf 'ts-key-file mode=%s sha256=%s\n' "$(stat -c %a "$f")" "$(sha256sum <"$f" | cut -d' ' -f1)" >>"$SANDBOX/facts.log"
          else
            printf 'ts-key-file missing\n' >>"$SANDBOX/facts.log"
          fi ;;
        esac
      done
      if [ -n "${STUB_TS_UP_FAIL:-}" ]; then echo "backend error: invalid key: unable to validate API key" >&2; exit 1; fi
      touch "$state/ts-up" ;;
    ip)
      if [ -f "$state/ts-up" ] && [ -z "${STUB_TS_NO_IP:-}" ]; then
        polls=$(($(cat "$state/ip-polls" 2>/dev/null || echo 0) + 1))
        echo "$polls" >"$state/ip-polls"
        if [ "$polls" -gt "${STUB_TS_IP_AFTER_POLLS:-0}" ]; then echo "$STUB_TS_IP"; exit 0; fi
      fi
      echo "no current Tailscale IPs; state: NeedsLogin" >&2
      exit 1 ;;
    logout) rm -f "$state/ts-up" ;;
  esac ;;
systemctl)
  case "${1:-}" in is-active) [ -f "$state/k3s-installed" ] || exit 3 ;; esac ;;
skopeo)
  # skopeo copy … docker://IMAGE docker-archive:FILE:IMAGE → an (empty) archive at FILE
  for a in "$@"; do
    case "$a" in docker-archive:*) f="${a#docker-archive:}" && : >"${f%%:*}" ;; esac
  done ;;
cloud-init) ;;
apt-get | dnf)
  case " $* " in *" install "*tailscale*) cp "$SANDBOX/optional/tailscale" "$SANDBOX/bin/tailscale" ;; esac ;;
k3s)
  case "${1:-}" in --version) printf 'k3s version %s (1a2b3c4d)\ngo version go1.23.10\n' "$STUB_K3S_VERSION" ;; esac ;;
sh)
  if [ "$(head -n 1 "$1")" = "# stub Tailscale installer" ]; then
    cp "$SANDBOX/optional/tailscale" "$SANDBOX/bin/tailscale"
    exit 0
  fi
  if [ -n "${K3S_TOKEN_FILE:-}" ] && [ -f "$K3S_TOKEN_FILE" ]; then
    printf 'token-file mode=%s sha256=%s\n' "$(stat -c %a "$K3S_TOKEN_FILE")" "$(sha256sum <"$K3S_TOKEN_FILE" | cut -d' ' -f1)" >>"$SANDBOX/facts.log"
  fi
  printf 'installer %s\n' "$(head -c 100 "$1")" >>"$SANDBOX/facts.log"
  touch "$state/k3s-installed" ;;
esac
exit 0
