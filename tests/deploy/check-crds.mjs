// Validates custom resources (ServiceMonitor) against the prometheus-operator CRD schema shipped by
// the npm package @kubernetes-models/prometheus-operator. Used by scripts/validate-deploy.sh
// (the script is copied next to the pinned install in .tools/deploy-validate/node, which the
// package, ESM-only, is then resolved from).
import fs from "node:fs";
import yaml from "js-yaml";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";

const KINDS = { "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor };
let errors = 0;
let checked = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of yaml.loadAll(fs.readFileSync(file, "utf8"))) {
    if (!doc) continue;
    const Model = KINDS[`${doc.apiVersion}/${doc.kind}`];
    const name = `${doc.kind}/${doc.metadata && doc.metadata.name}`;
    if (!Model) {
      console.error(`ERROR ${file}: no schema for ${doc.apiVersion} ${name}`);
      errors++;
      continue;
    }
    try {
      new Model(doc).validate();
      checked++;
      console.error(`ok: ${name} (${doc.apiVersion})`);
    } catch (err) {
      console.error(`ERROR ${file}: ${name}: ${err.message}`);
      errors++;
    }
  }
}
if (checked === 0 && errors === 0) {
  console.error("ERROR: no custom resource found");
  process.exit(1);
}
process.exit(errors ? 1 : 0);
