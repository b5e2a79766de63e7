#!/bin/bash
# k3s-burst bake: runs once, as user data, on a builder instance started by `k3s-burst bake`.
# Installs what a burst node otherwise downloads at every boot (Tailscale, the K3s installer,
# the pinned k3s binary, optionally the K3s air-gap images and your own images), removes every
# per-instance identity, prints one result line and powers off; `k3s-burst bake` then images
# the stopped instance. Rendered by lib/userdata/bake.ts; docs/nodes.md. No secrets here.
set -Eeuo pipefail
umask 022

# --- Rendered values (shell-quoted by lib/userdata/bake.ts) ---
K3S_VERSION={{k3sVersion}}
AIRGAP_IMAGES={{airgapImages}}
PRE_PULL_IMAGES=({{prePullImages}})

# --- Paths. K3S_BURST_* overrides exist only for the sandbox tests. ---
ROOT="${K3S_BURST_ROOT:-}"
RETRY_DELAY_SECONDS="${K3S_BURST_RETRY_DELAY_SECONDS:-5}"
SHARE_DIR="${ROOT}/usr/local/share/k3s-burst"
K3S_BIN="${ROOT}/usr/local/bin/k3s"
IMAGES_DIR="${ROOT}/var/lib/rancher/k3s/agent/images"
RELEASES=https://github.com/k3s-io/k3s/releases/download
# The line `k3s-burst bake` looks for in the console output.
RESULT_TAG=K3S_BURST_BAKE_RESULT
STEP="starting"
WORK="$(mktemp -d)"

log() { printf '%s k3s-burst-bake: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
on_exit() {
  local rc=$?
  rm -rf "$WORK"
  if [ "$rc" -eq 0 ]; then
    printf '%s ok k3s=%s\n' "$RESULT_TAG" "$K3S_VERSION"
  else
    printf '%s failed step=%s exit=%s\n' "$RESULT_TAG" "${STEP// /-}" "$rc"
  fi
  sync
  # Stop either way: a failed builder must not keep running (bake terminates it).
  systemctl poweroff || true
}
trap on_exit EXIT

# Up to 3 attempts for network operations (package mirrors, GitHub).
retry() {
  local attempt=1
  until "$@"; do
    if [ "$attempt" -ge 3 ]; then
      log "giving up on '$1' after ${attempt} attempts"
      return 1
    fi
    log "attempt ${attempt} of '$1' failed; retrying in ${RETRY_DELAY_SECONDS}s"
    sleep "$RETRY_DELAY_SECONDS"
    attempt=$((attempt + 1))
  done
}
fetch() { curl -fsSL --max-time 600 -o "$2" "$1"; }

case "$(uname -m)" in
  aarch64 | arm64) ARCH=arm64 BIN_ASSET=k3s-arm64 ;;
  x86_64 | amd64) ARCH=amd64 BIN_ASSET=k3s ;;
  *)
    log "unsupported CPU architecture $(uname -m)"
    exit 1
    ;;
esac
OS_ID=unknown
if [ -r "${ROOT}/etc/os-release" ]; then
  OS_ID="$(sed -n 's/^ID=//p' "${ROOT}/etc/os-release" | tr -d "\"'" | head -n 1)"
fi
log "baking K3s ${K3S_VERSION} for ${ARCH} on ${OS_ID}"

# --- 1. Tailscale, from Tailscale's installer (Ubuntu, Debian, Amazon Linux and more) ---
STEP="tailscale"
if command -v tailscale >/dev/null; then
  log "tailscale already installed"
else
  retry fetch https://tailscale.com/install.sh "${WORK}/tailscale-install.sh"
  retry sh "${WORK}/tailscale-install.sh"
fi
command -v tailscale >/dev/null || {
  log "the Tailscale installer ran but there is no tailscale command"
  exit 1
}

# --- 2. The K3s installer and the pinned binary, checked against the release's checksums ---
STEP="k3s binary"
RELEASE="${RELEASES}/${K3S_VERSION/+/%2B}"
mkdir -p "$SHARE_DIR" "${ROOT}/usr/local/bin"
retry fetch https://get.k3s.io "${SHARE_DIR}/k3s-install.sh"
chmod 0755 "${SHARE_DIR}/k3s-install.sh"
retry fetch "${RELEASE}/sha256sum-${ARCH}.txt" "${WORK}/sha256sum.txt"
verify() {
  local want
  want="$(awk -v a="$1" '$2 == a { print $1 }' "${WORK}/sha256sum.txt")"
  [ -n "$want" ] || {
    log "no checksum for $1 in sha256sum-${ARCH}.txt of ${K3S_VERSION}"
    return 1
  }
  printf '%s  %s\n' "$want" "$2" | sha256sum -c --quiet - || {
    log "checksum mismatch for $1"
    return 1
  }
}
retry fetch "${RELEASE}/${BIN_ASSET}" "${WORK}/k3s"
verify "$BIN_ASSET" "${WORK}/k3s"
install -m 0755 "${WORK}/k3s" "$K3S_BIN"
log "k3s ${K3S_VERSION} installed at /usr/local/bin/k3s (the node's installer skips the download)"

# --- 3. Images K3s imports from agent/images at its first start ---
mkdir -p "$IMAGES_DIR"
if [ "$AIRGAP_IMAGES" = true ]; then
  STEP="air-gap images"
  AIRGAP="k3s-airgap-images-${ARCH}.tar.zst"
  retry fetch "${RELEASE}/${AIRGAP}" "${WORK}/${AIRGAP}"
  verify "$AIRGAP" "${WORK}/${AIRGAP}"
  install -m 0644 "${WORK}/${AIRGAP}" "${IMAGES_DIR}/${AIRGAP}"
  log "K3s air-gap images installed (the pause image and the system images need no pull)"
fi
if [ "${#PRE_PULL_IMAGES[@]}" -gt 0 ]; then
  STEP="pre-pull images"
  if ! command -v skopeo >/dev/null; then
    case "$OS_ID" in
      ubuntu | debian) retry apt-get -o DPkg::Lock::Timeout=300 install -y -qq skopeo ;;
      amzn | fedora | rhel) retry dnf install -y -q skopeo ;;
      *)
        log "cannot install skopeo on ${OS_ID} to pre-pull images"
        exit 1
        ;;
    esac
  fi
  for image in "${PRE_PULL_IMAGES[@]}"; do
    file="${IMAGES_DIR}/k3s-burst-$(printf '%s' "$image" | sha256sum | cut -c1-16).tar"
    retry skopeo copy --override-os linux --override-arch "$ARCH" \
      "docker://${image}" "docker-archive:${file}:${image}"
    log "pre-pulled ${image}"
  done
fi

# --- 4. No identity may stay in the image: every node gets its own ---
STEP="clean identity"
systemctl stop tailscaled 2>/dev/null || true
rm -f "${ROOT}/var/lib/tailscale/tailscaled.state"
rm -f "${ROOT}/etc/ssh/ssh_host_"*
if command -v cloud-init >/dev/null; then
  # Instances of the image run their own user data and get a new machine id.
  cloud-init clean --logs --machine-id
fi
STEP="done"
log "image contents ready; powering off"
