// Types for integrators: the schema and the example operations. CI runs
// `npm run check`, which generates them and compiles them with `tsc`.
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../../schema.graphql",
  documents: "../../examples/*.graphql",
  generates: {
    "generated/types.ts": {
      plugins: ["typescript", "typescript-operations"],
      config: {
        enumsAsTypes: true,
        strictScalars: true,
        scalars: {
          Kroner: "number",
          NaiveDate: "string",
          DateTime: "string",
          JSON: "unknown",
        },
      },
    },
  },
};

export default config;
