#!/usr/bin/env bash
# Builds a test image from the host's static busybox (Debian busybox-static):
# there is no registry to pull from, so every test image starts here.
#
#   make-busybox-image.sh OUT.tar                        plain rootfs tar, for `tsswarm image import OUT.tar busybox:latest`
#   make-busybox-image.sh OUT.tar --docker-save NAME:TAG  `docker save` archive (manifest.json, config, one layer)
#
# The output is reproducible: sorted names, fixed mtime, numeric owner 0, so the
# same busybox always gives the same layer digest.
set -euo pipefail

usage() { echo "usage: $0 OUT.tar [--docker-save NAME:TAG]" >&2; exit 2; }

out="" save_ref=""
while (($#)); do
  case "$1" in
    --docker-save) (($# >= 2)) || usage; save_ref="$2"; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "error: unknown option $1" >&2; usage ;;
    *) [[ -z "$out" ]] || usage; out="$1"; shift ;;
  esac
done
[[ -n "$out" ]] || usage

busybox=/bin/busybox
if [[ ! -x "$busybox" ]]; then
  echo "error: $busybox not found; install busybox-static (scripts/setup.sh)" >&2
  exit 1
fi
# A dynamically linked busybox would not run inside a scratch image.
if ! "$busybox" --list >/dev/null 2>&1; then
  echo "error: $busybox does not list its applets; is it busybox-static?" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 022

# Fixed for reproducibility; 2000-01-01 rather than the epoch so tools that
# treat 0 as "unset" still show a date.
epoch=946684800
created=2000-01-01T00:00:00Z

# reproducible_tar OUT DIR: every entry of DIR, sorted, owned by 0:0, fixed mtime.
reproducible_tar() {
  local out="$1" dir="$2"
  (cd "$dir" && find . -mindepth 1 -maxdepth 1 -printf '%P\n' | LC_ALL=C sort) |
    tar --create --file="$out" --directory="$dir" --files-from=- \
      --sort=name --format=gnu --mtime="@$epoch" \
      --owner=0 --group=0 --numeric-owner
}

# --- the root filesystem --------------------------------------------------
rootfs="$work/rootfs"
mkdir -p "$rootfs"/{bin,etc,dev,proc,sys,tmp,root,var/www}
chmod 0755 "$rootfs"/{bin,etc,dev,proc,sys,var,var/www}
chmod 1777 "$rootfs/tmp"
chmod 0700 "$rootfs/root"

install -m 0755 "$busybox" "$rootfs/bin/busybox"
# Every applet is a relative symlink in /bin; applets Debian places in
# /sbin or /usr/bin live in /bin here, which is what a scratch image needs.
"$busybox" --list | LC_ALL=C sort -u | while read -r applet; do
  [[ -n "$applet" && "$applet" != busybox ]] || continue
  ln -s busybox "$rootfs/bin/$applet"
done

cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
EOF
echo 'hello from tsswarm' >"$rootfs/var/www/index.html"
chmod 0644 "$rootfs/etc/passwd" "$rootfs/etc/group" "$rootfs/var/www/index.html"

layer="$work/layer.tar"
reproducible_tar "$layer" "$rootfs"

if [[ -z "$save_ref" ]]; then
  cp "$layer" "$out"
  exit 0
fi

# --- docker save format ---------------------------------------------------
# NAME:TAG → repository and tag; a colon before the last slash is a registry port.
name="$save_ref" tag=latest
last="${save_ref##*/}"
if [[ "$last" == *:* ]]; then
  tag="${last##*:}"
  name="${save_ref%:*}"
fi
if [[ ! "$name" =~ ^[a-z0-9._/:-]+$ || ! "$tag" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ ]]; then
  echo "error: \"$save_ref\" is not a NAME:TAG reference" >&2
  exit 1
fi

diff_id=$(sha256sum "$layer" | cut -d' ' -f1)
save="$work/save"
# Old-style docker save: one directory per layer named by a layer id; the
# diff id serves as that id since the v1 ids carry no meaning for us.
mkdir -p "$save/$diff_id"
mv "$layer" "$save/$diff_id/layer.tar"
printf '1.0' >"$save/$diff_id/VERSION"
printf '{"id":"%s","created":"%s"}' "$diff_id" "$created" >"$save/$diff_id/json"

config=$(printf '{"architecture":"amd64","os":"linux","created":"%s","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"%s","created_by":"scripts/make-busybox-image.sh"}]}' \
  "$created" "$diff_id" "$created")
printf '%s' "$config" >"$save/config.json"
config_id=$(sha256sum "$save/config.json" | cut -d' ' -f1)
mv "$save/config.json" "$save/$config_id.json"

printf '[{"Config":"%s.json","RepoTags":["%s:%s"],"Layers":["%s/layer.tar"]}]' \
  "$config_id" "$name" "$tag" "$diff_id" >"$save/manifest.json"
printf '{"%s":{"%s":"%s"}}' "$name" "$tag" "$diff_id" >"$save/repositories"
find "$save" -type f -exec chmod 0644 {} + && find "$save" -type d -exec chmod 0755 {} +

reproducible_tar "$out" "$save"
