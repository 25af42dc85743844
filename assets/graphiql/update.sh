#!/usr/bin/env bash
# assets/graphiql/update.sh: the vendored GraphiQL files, reproducibly.
#
#   ./update.sh          fetches (npm pack) exactly the tarballs pinned in
#                        VERSIONS, checks each against its pinned sha512
#                        integrity and each file against its pinned sha256,
#                        copies the files here and rewrites LICENSES.md.
#   ./update.sh --check  offline: checks the files here against the sha256
#                        in VERSIONS (no network, no npm).
#
# Needs bash, tar, sha256sum, openssl, base64; for the update also node and
# npm with the npm registry. Nothing is left behind outside this folder.
set -euo pipefail
cd "$(dirname "$0")"

mode=update
case "${1:-}" in
  "") ;;
  --check) mode=check ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

rows() { grep -v '^[[:space:]]*\(#\|$\)' VERSIONS; }
sha256() { sha256sum "$1" | cut -d' ' -f1; }
integrity() { printf 'sha512-%s' "$(openssl dgst -sha512 -binary "$1" | base64 -w0)"; }

if [[ $mode == check ]]; then
  status=0
  while read -r file pkg ver _path _url _integrity sum; do
    if [[ ! -f $file ]]; then
      echo "update.sh: $file is missing" >&2; status=1
    elif [[ $(sha256 "$file") != "$sum" ]]; then
      echo "update.sh: $file does not match its pinned sha256 ($pkg@$ver)" >&2; status=1
    else
      echo "ok  $file  ($pkg@$ver)"
    fi
  done < <(rows)
  exit "$status"
fi

tmp="$(mktemp -d -t graphiql-update.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT

# 1. Fetch every pinned tarball once; check it against the pinned integrity
#    (computed here, not taken from npm's word) and unpack it.
declare -A unpacked
while read -r file pkg ver path url pinned _sum; do
  key="$pkg@$ver"
  [[ -n ${unpacked[$key]:-} ]] && continue
  if [[ $url != "https://registry.npmjs.org/$pkg/-/${pkg##*/}-$ver.tgz" ]]; then
    echo "update.sh: $file: tarball $url is not the one of $key" >&2; exit 1
  fi
  echo "fetching $key" >&2
  (cd "$tmp" && npm pack "$key" --silent --no-fund --no-audit </dev/null >/dev/null)
  tgz="$tmp/${pkg##*/}-$ver.tgz"
  [[ ${pkg:0:1} == @ ]] && tgz="$tmp/${pkg:1}-$ver.tgz" && tgz="${tgz/\//-}"
  got="$(integrity "$tgz")"
  if [[ $got != "$pinned" ]]; then
    echo "update.sh: $key: the tarball's integrity is $got, VERSIONS pins $pinned" >&2; exit 1
  fi
  mkdir -p "$tmp/x/$key"
  tar -xzf "$tgz" -C "$tmp/x/$key" </dev/null
  unpacked[$key]="$tmp/x/$key"
done < <(rows)

# 2. Check every file against its pinned sha256 before copying any; a `-`
#    (a new pin) is filled in with the sha256 of the file from the verified
#    tarball.
declare -A fill
while read -r file pkg ver path _url _integrity sum; do
  src="${unpacked[$pkg@$ver]}/$path"
  [[ -f $src ]] || { echo "update.sh: $pkg@$ver has no $path" >&2; exit 1; }
  got="$(sha256 "$src")"
  if [[ $sum == - ]]; then
    fill[$file]="$got"
  elif [[ $got != "$sum" ]]; then
    echo "update.sh: $pkg@$ver $path has sha256 $got, VERSIONS pins $sum" >&2; exit 1
  fi
done < <(rows)
while read -r file pkg ver path _rest; do
  cp "${unpacked[$pkg@$ver]}/$path" "$file"
  chmod 644 "$file"
  echo "wrote $file ($(stat -c %s "$file") bytes, $pkg@$ver)" >&2
done < <(rows)
for file in "${!fill[@]}"; do
  sed -i "s|^\(${file//./\\.}[[:space:]].*[[:space:]]\)-\$|\1${fill[$file]}|" VERSIONS
  echo "pinned the sha256 of $file in VERSIONS" >&2
done

# 3. LICENSES.md: the licence of every vendored package (from the verified
#    tarball) and of every package bundled inside a vendored .js file (the
#    names come from the bundle's source map in the same tarball; their
#    licence texts from the packages npm resolves for the pinned versions).
specs="$(rows | awk '{print $2 "@" $3}' | sort -u | tr '\n' ' ')"
mkdir -p "$tmp/tree"
(cd "$tmp/tree" && echo '{"private":true}' >package.json &&
  npm install --ignore-scripts --no-audit --no-fund --silent $specs </dev/null >/dev/null)
licences() {
  {
    for key in "${!unpacked[@]}"; do echo "pkg $key ${unpacked[$key]}"; done
    rows | awk '{print "row", $1, $2 "@" $3, $4}'
  } | node --input-type=module -e "$licences_js" "$tmp/tree" "$1"
}
licences_js='
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";

const tree = process.argv[1];
const unpacked = new Map(), rows = [];
for await (const line of readline.createInterface({ input: process.stdin })) {
  const [kind, ...f] = line.split(" ");
  if (kind === "pkg") unpacked.set(f[0], f[1]);
  else rows.push({ file: f[0], key: f[1], path: f[2] });
}
const licenceFile = (dir) =>
  fs.readdirSync(dir).filter((n) => /^(licen[cs]e|copying)(\.|-|$)/i.test(n)).sort()[0];
const fence = (text) => "````text\n" + text.trimEnd() + "\n````\n";
const licenceOf = (dir) => {
  const meta = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  const spdx = typeof meta.license === "string" ? meta.license : meta.license?.type ?? "unknown";
  const file = licenceFile(dir);
  const text = file
    ? fence(fs.readFileSync(path.join(dir, file), "utf8"))
    : `The package ships no licence file; its package.json declares \`${spdx}\`.\n`;
  return { version: meta.version, spdx, text };
};
// Where npm put a package: node_modules/NAME first, else the first nested copy.
const installed = (name) => {
  const top = path.join(tree, "node_modules", name);
  if (fs.existsSync(path.join(top, "package.json"))) return top;
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const p = path.join(dir, e.name);
      if (p.endsWith(path.join("node_modules", name)) && fs.existsSync(path.join(p, "package.json"))) return p;
      const r = walk(p);
      if (r) return r;
    }
  };
  return walk(path.join(tree, "node_modules"));
};

let out = `# Licences of the vendored GraphiQL files

Generated by \`./update.sh\` from the pinned tarballs in \`VERSIONS\`; do not
edit by hand. \`index.html\`, \`init.js\`, \`kompetanse.css\`, \`CSP\`, \`README.md\`,
\`VERSIONS\` and \`update.sh\` are kompetanse'"'"'s own files, not third-party code.

## Vendored packages
`;
const keys = [...new Set(rows.map((r) => r.key))];
for (const key of keys) {
  const dir = path.join(unpacked.get(key), "package");
  const l = licenceOf(dir);
  const files = rows.filter((r) => r.key === key).map((r) => "`" + r.file + "`").join(", ");
  out += `\n### ${key} (${l.spdx})\n\nFiles: ${files}.\n\n${l.text}`;
}

// Packages inside the bundles, from each bundle'"'"'s source map.
const bundled = new Map();
for (const r of rows.filter((r) => r.file.endsWith(".js"))) {
  const map = path.join(unpacked.get(r.key), r.path + ".map");
  if (!fs.existsSync(map)) continue;
  const own = r.key.replace(/@[^@]*$/, "");
  for (const s of JSON.parse(fs.readFileSync(map, "utf8")).sources) {
    let name = s.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1];
    if (!name) {
      // A sibling package of the monorepo the bundle was built in: ../../DIR/...
      const dir = s.match(/^(?:\.\.\/)+([^/.][^/]*)\//)?.[1];
      if (!dir || dir === "src") continue;
      name = [dir, "@graphiql/" + dir.replace(/^graphiql-/, "")].find((n) => installed(n)) ?? dir;
    }
    if (name === own) continue;
    if (!bundled.has(name)) bundled.set(name, new Set());
    bundled.get(name).add(r.file);
  }
}
out += `
## Packages bundled inside the vendored files

These packages are compiled into the files named with each. The list comes
from the bundles'"'"' source maps (e.g. \`graphiql.min.js.map\` in the graphiql
tarball). The maps do not record versions, so each licence text below is
taken from the version npm resolved for the pinned packages when this file
was generated (named in each heading).
`;
const missing = [];
for (const name of [...bundled.keys()].sort()) {
  const dir = installed(name);
  const files = [...bundled.get(name)].map((f) => "`" + f + "`").join(", ");
  if (!dir) {
    missing.push(name);
    out += `\n### ${name}\n\nIn ${files}. Not found among the installed packages: check its licence by hand.\n`;
    continue;
  }
  const l = licenceOf(dir);
  out += `\n### ${name} ${l.version} (${l.spdx})\n\nIn ${files}.\n\n${l.text}`;
}
if (missing.length && process.argv[2] === "first") {
  // Bundled, but not in the tree npm resolves today: the caller installs
  // these by name and runs this again.
  console.log(missing.join("\n"));
  process.exit(0);
}
fs.writeFileSync("LICENSES.md", out);
console.error(`wrote LICENSES.md (${keys.length} vendored packages, ${bundled.size} bundled)`);
if (missing.length) {
  console.error(`update.sh: no licence text for ${missing.join(", ")}; see LICENSES.md`);
  process.exit(1);
}
'
extra="$(licences first)"
if [[ -n $extra ]]; then
  echo "installing for their licences only: $(echo $extra)" >&2
  (cd "$tmp/tree" && npm install --ignore-scripts --no-audit --no-fund --silent --no-save $extra </dev/null >/dev/null)
fi
licences last

"$0" --check
