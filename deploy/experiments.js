'use strict';

// Serverless Framework v3 variable resolver: the AppConfig experiment definitions of
// example-lambda/experiments.json as CloudFormation resources.
//
//   resources:
//     - Resources: ...                                  # the stack's own
//     - ${file(./deploy/experiments.js):resources}
//
// experiments.json is the single source of truth, like flags.json: the local agent runs it, the
// `flags!` macro checks it against flags.json at compile time, and this turns each entry into an
// AWS::AppConfig::ExperimentDefinition (CloudFormation's flattened treatment shape). A definition
// costs nothing until a run starts.
//
// Runs are billed per hour while they exist, so an entry's `Run` becomes an
// AWS::AppConfig::ExperimentRun only when DEPLOY_EXPERIMENT_RUNS=1 is set for the deploy. Its
// `TreatmentOverrides` are never deployed: they name the local treatment keys (`__c__`,
// `__t1__`), while AWS generates the keys of a deployed definition itself.
//
// AppConfig experimentation is not available in every region (CloudFormation has no
// AWS::AppConfig::ExperimentDefinition in the regions below, AWS::AppConfig::ExperimentRun
// neither in us-gov-east-1, per cfn-lint 1.58's resource schemas): there the stack is packaged
// without them, and a line says so.

const fs = require('fs');
const path = require('path');

const EXPERIMENTS_FILE = path.join(__dirname, '..', 'example-lambda', 'experiments.json');
const RUNS_ENV = 'DEPLOY_EXPERIMENT_RUNS';
const NO_DEFINITIONS = ['ap-southeast-5', 'me-central-1'];
const NO_RUNS = [...NO_DEFINITIONS, 'us-gov-east-1'];
const TREATMENT_KEYS = ['Enabled', 'Weight', 'Description', 'AttributeValues'];
const DEFINITION_KEYS = ['Hypothesis', 'AudienceDescription', 'LaunchCriteria'];

/// `checkout-button` -> `CheckoutButton`: a CloudFormation logical id part.
function pascal(name) {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => word[0].toUpperCase() + word.slice(1))
    .join('');
}

function pick(object, keys) {
  return Object.fromEntries(keys.filter((key) => key in object).map((key) => [key, object[key]]));
}

function fail(message) {
  const err = new Error(message);
  err.stack = message; // Serverless prints the stack; the JS trace would bury the point.
  throw err;
}

/// The CloudFormation resources of `experiments` (the parsed file) for `region`.
function resourcesFor(experiments, region, withRuns, log) {
  const resources = {};
  if (NO_DEFINITIONS.includes(region)) {
    log(`AppConfig experiments are not available in ${region}: ${EXPERIMENTS_FILE} is not deployed there.`);
    return resources;
  }
  const runs = withRuns && !NO_RUNS.includes(region);
  if (withRuns && !runs) {
    log(`AppConfig experiment runs are not available in ${region}: only the definitions are deployed.`);
  }
  for (const experiment of experiments.experiments || []) {
    const id = `Experiment${pascal(experiment.Name)}`;
    if (id in resources) fail(`${EXPERIMENTS_FILE}: two experiments become the resource ${id}`);
    resources[id] = {
      Type: 'AWS::AppConfig::ExperimentDefinition',
      // The flag must be deployed to the environment before an experiment can name it.
      DependsOn: ['FlagsDeployment'],
      Properties: {
        ApplicationIdentifier: { Ref: 'AppConfigApplication' },
        EnvironmentIdentifier: { 'Fn::GetAtt': ['AppConfigEnvironment', 'EnvironmentId'] },
        ConfigurationProfileIdentifier: { 'Fn::GetAtt': ['FlagsProfile', 'ConfigurationProfileId'] },
        Name: experiment.Name,
        FlagKey: experiment.FlagKey,
        AudienceRule: experiment.AudienceRule,
        Control: pick(experiment.Control, TREATMENT_KEYS),
        Treatments: experiment.Treatments.map((t) => pick(t, TREATMENT_KEYS)),
        ...pick(experiment, DEFINITION_KEYS),
      },
    };
    if (runs && experiment.Run && !(experiment.Run.ExposurePercentage > 0)) {
      // Locally, 0 % runs overrides only; overrides are not deployed, so such a run would
      // expose nobody and still be billed.
      log(`experiment ${experiment.Name}: a run at 0 % exposure is not deployed (overrides are local only).`);
    } else if (runs && experiment.Run) {
      resources[`${id}Run`] = {
        Type: 'AWS::AppConfig::ExperimentRun',
        Properties: {
          ApplicationIdentifier: { Ref: 'AppConfigApplication' },
          ExperimentDefinitionIdentifier: { 'Fn::GetAtt': [id, 'Id'] },
          ExposurePercentage: experiment.Run.ExposurePercentage,
          Description: `Run of ${experiment.Name}, deployed with the stack`,
        },
      };
    }
  }
  return resources;
}

async function resources({ resolveVariable }) {
  const region = await resolveVariable('aws:region');
  if (!fs.existsSync(EXPERIMENTS_FILE)) return { Resources: {} };
  let experiments;
  try {
    experiments = JSON.parse(fs.readFileSync(EXPERIMENTS_FILE, 'utf8'));
  } catch (err) {
    fail(`${EXPERIMENTS_FILE} is not valid JSON: ${err.message}`);
  }
  const withRuns = ['1', 'true'].includes(process.env[RUNS_ENV] || '');
  const log = (line) => process.stderr.write(`${line}\n`);
  return { Resources: resourcesFor(experiments, region, withRuns, log) };
}

module.exports = { resources, resourcesFor, EXPERIMENTS_FILE, RUNS_ENV };
