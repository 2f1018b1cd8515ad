// Validates rendered Kubernetes manifests against the Kubernetes API schemas
// with the npm packages kubernetes-models (the OpenAPI schemas of the
// Kubernetes API, compiled to validators) and
// @kubernetes-models/prometheus-operator (ServiceMonitor, PrometheusRule).
//
//   node tests/deploy/validate_manifests.mjs <tools dir> file.yaml...
//
// <tools dir> is where scripts/deploy-checks.sh installed the packages
// (npm --prefix). Every document must be of a kind the packages know; each is
// checked for types, formats, enums and required fields. What this does not
// catch: unknown fields (the schemas allow them), and anything only the API
// server decides (admission, defaulting, immutable fields).
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [toolsDir, ...files] = process.argv.slice(2);
if (!toolsDir || files.length === 0) {
  console.error("usage: validate_manifests.mjs <tools dir> file.yaml...");
  process.exit(2);
}
const modules = path.join(path.resolve(toolsDir), "node_modules");
const { parseAllDocuments } = await import(pathToFileURL(path.join(modules, "yaml", "dist", "index.js")));

// apiVersion "apps/v1" -> kubernetes-models/apps/v1/<Kind>.js; "v1" -> v1/<Kind>.js;
// monitoring.coreos.com -> @kubernetes-models/prometheus-operator.
function modelPath(apiVersion, kind) {
  const pkg = apiVersion.startsWith("monitoring.coreos.com/")
    ? path.join(modules, "@kubernetes-models", "prometheus-operator")
    : path.join(modules, "kubernetes-models");
  return path.join(pkg, ...apiVersion.split("/"), `${kind}.js`);
}

let failed = 0;
let checked = 0;
for (const file of files) {
  const docs = parseAllDocuments(readFileSync(file, "utf8"));
  for (const doc of docs) {
    if (doc.errors.length) {
      console.error(`${file}: YAML error: ${doc.errors[0].message}`);
      failed++;
      continue;
    }
    const obj = doc.toJS();
    if (obj == null) continue;
    const where = `${file}: ${obj.kind ?? "?"}/${obj.metadata?.name ?? "?"}`;
    if (typeof obj.apiVersion !== "string" || typeof obj.kind !== "string") {
      console.error(`${where}: apiVersion and kind are required`);
      failed++;
      continue;
    }
    let Model;
    try {
      Model = (await import(pathToFileURL(modelPath(obj.apiVersion, obj.kind))))[obj.kind];
    } catch {
      console.error(`${where}: unknown kind ${obj.apiVersion} ${obj.kind} (not in the Kubernetes API schemas)`);
      failed++;
      continue;
    }
    try {
      new Model(obj).validate();
      checked++;
    } catch (e) {
      console.error(`${where}: ${e.message}`);
      failed++;
    }
  }
}
console.log(`validate_manifests: ${checked} objects valid, ${failed} invalid (${files.length} files)`);
process.exit(failed === 0 && checked > 0 ? 0 : 1);
