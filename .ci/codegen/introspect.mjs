// CI check with graphql-js itself: the introspection query that graphql-js
// sends (GraphiQL's docs, codegen from a URL, get-graphql-schema) runs
// against the real server at its default limits, its answer builds a
// client schema, and that schema has every type of schema.graphql.
// Also checks that tests/fixtures/graphql-js-introspection.graphql, which
// the Rust suite sends, is still what graphql-js generates.
//
//   node introspect.mjs [URL]   (default: $KOMPETANSE_URL, as .ci/with-server sets it)
import { readFileSync } from "node:fs";
import {
  buildClientSchema,
  buildSchema,
  getIntrospectionQuery,
  version,
} from "graphql";

const url = process.argv[2] ?? process.env.KOMPETANSE_URL;
if (!url) throw new Error("usage: node introspect.mjs URL");

const query = getIntrospectionQuery({
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
});

const fixture = readFileSync(
  new URL("../../tests/fixtures/graphql-js-introspection.graphql", import.meta.url),
  "utf8",
)
  .split("\n")
  .filter((line) => !line.startsWith("#"))
  .join("\n");
if (fixture.trim() !== query.trim()) {
  throw new Error(
    `tests/fixtures/graphql-js-introspection.graphql differs from graphql-js ${version}'s introspection query; regenerate it`,
  );
}

const response = await fetch(url, {
  method: "POST",
  headers: { "content-type": "application/json", accept: "application/graphql-response+json" },
  body: JSON.stringify({ query, operationName: "IntrospectionQuery" }),
});
const body = await response.json();
if (response.status !== 200 || body.errors) {
  throw new Error(`introspection refused: HTTP ${response.status} ${JSON.stringify(body.errors)}`);
}
const client = buildClientSchema(body.data);
const sdl = readFileSync(new URL("../../schema.graphql", import.meta.url), "utf8");
const committed = buildSchema(sdl);
const missing = Object.keys(committed.getTypeMap()).filter((name) => !client.getType(name));
if (missing.length > 0) {
  throw new Error(`types of schema.graphql missing from the introspection: ${missing.join(", ")}`);
}
console.log(
  `graphql-js ${version}: introspection at the default limits gives ${Object.keys(client.getTypeMap()).length} types; all ${Object.keys(committed.getTypeMap()).length} of schema.graphql present`,
);
