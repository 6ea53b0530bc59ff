'use strict';

// Serverless Framework v3 variable resolver: the AWS AppConfig Lambda extension layer for the
// region being deployed to and the function's architecture.
//
//   layers:
//     - ${file(./deploy/appconfig-layer.js):arn}
//
// The ARNs live in serverless.yml under custom.appconfigExtensionLayers.<region>.<architecture>.
// This only looks them up, so that packaging or deploying for a region (or architecture) missing
// from that table stops with an error saying what to add and where to find it, instead of
// Serverless's generic "Value not found at "self" source".

/// The ARN partition of a region: China and GovCloud have their own.
function partition(region) {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

const VERSIONS_PAGE =
  'https://docs.aws.amazon.com/appconfig/latest/userguide/appconfig-integration-lambda-extensions-versions.html';

async function arn({ resolveVariable }) {
  const region = await resolveVariable('aws:region');
  const architecture = await resolveVariable("self:provider.architecture, 'x86_64'");
  const table = await resolveVariable('self:custom.appconfigExtensionLayers, null');
  const layer = table && table[region] && table[region][architecture];
  if (typeof layer !== 'string' || !layer.startsWith(`arn:${partition(region)}:lambda:${region}:`)) {
    const mapped = table ? Object.keys(table).join(', ') : 'none';
    const err = new Error(
      `No AWS AppConfig extension layer for region "${region}" and architecture ` +
        `"${architecture}" in custom.appconfigExtensionLayers (serverless.yml; mapped regions: ` +
        `${mapped}). Add custom.appconfigExtensionLayers.${region}.${architecture} with the ` +
        `ARN listed at ${VERSIONS_PAGE}`
    );
    // Serverless prints a resolver's `error.stack`; the JS stack trace would only bury the point.
    err.stack = err.message;
    throw err;
  }
  return layer;
}

module.exports = { arn, partition };
