// CI check with graphql-http's own audit suite (the GraphQL-over-HTTP
// specification's conformance tests) against the real server: no MUST
// (error) and no SHOULD (warn) may fail. Notices are printed.
//
//   node audit.mjs [URL]   (default: $KOMPETANSE_URL, as .ci/with-server sets it)
import { auditServer } from "graphql-http";

const url = process.argv[2] ?? process.env.KOMPETANSE_URL;
if (!url) throw new Error("usage: node audit.mjs URL");

const results = await auditServer({ url });
const count = (status) => results.filter((r) => r.status === status).length;
for (const r of results.filter((r) => r.status !== "ok")) {
  let detail = "";
  if (r.response) {
    const body = await r.response.text().catch(() => "");
    detail = ` (HTTP ${r.response.status}: ${body.slice(0, 200)})`;
  }
  console.log(`${r.status.toUpperCase()} ${r.id} ${r.name}: ${r.reason}${detail}`);
}
console.log(
  `graphql-http audit: ${count("ok")} ok, ${count("warn")} SHOULD failed, ${count("error")} MUST failed, ${count("notice")} notices, of ${results.length}`,
);
if (count("warn") + count("error") > 0) process.exit(1);
