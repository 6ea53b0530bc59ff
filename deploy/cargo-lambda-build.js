'use strict';

// Serverless Framework v3 plugin: builds the Rust Lambda zips that serverless.yml deploys, so
// `serverless package` and `serverless deploy` (any --stage, any --region) work on a fresh clone
// with no build step before them.
//
//   plugins:
//     - ./deploy/cargo-lambda-build.js
//
// Before the framework checks the functions' artifacts, every function whose
// `package.artifact` is `target/lambda/<binary>/bootstrap.zip` (cargo-lambda's layout) is built
// with
//
//   cargo lambda build --release --arm64 --output-format zip --lambda-dir target/lambda --bin <binary>
//
// (`--x86-64` when provider.architecture / the function's architecture is x86_64). A function
// whose artifact points anywhere else (tests/deploy.rs points CHECKOUT_LAMBDA_ZIP at a
// placeholder) is left alone. cargo is incremental: an unchanged crate re-links nothing.
//
// When cargo-lambda is missing, packaging stops with how to install it (`pip install
// cargo-lambda`, which brings zig, the cross-linker) instead of "Cannot access package artifact".

const { spawnSync } = require('child_process');
const path = require('path');

const LAMBDA_DIR = 'target/lambda';
const INSTALL_HINT =
  'Install it with `pip install cargo-lambda` (it brings zig, the cross-linker; ' +
  'https://www.cargo-lambda.info/guide/installation.html lists other ways), then run the ' +
  'same command again.';

/// `target/lambda/<binary>/bootstrap.zip` -> `<binary>`, for an artifact cargo-lambda writes.
function builtBinary(artifact) {
  if (typeof artifact !== 'string') return null;
  const parts = path.normalize(artifact).split(path.sep);
  const lambdaDir = LAMBDA_DIR.split('/');
  const matches =
    parts.length === lambdaDir.length + 2 &&
    lambdaDir.every((part, i) => parts[i] === part) &&
    parts[parts.length - 1] === 'bootstrap.zip';
  return matches ? parts[lambdaDir.length] : null;
}

class CargoLambdaBuild {
  constructor(serverless, options, { log } = {}) {
    this.serverless = serverless;
    this.options = options || {};
    this.log = log || { notice: console.log, info: () => {} };
    this.hooks = {
      'before:package:createDeploymentArtifacts': () => this.buildAll(),
      'before:package:function:package': () => this.buildAll(this.options.function),
    };
  }

  /// The builds to run: one per (binary, architecture), for `only` or every function.
  builds(only) {
    const service = this.serverless.service;
    const defaultArchitecture = (service.provider && service.provider.architecture) || 'x86_64';
    const wanted = new Map();
    for (const name of service.getAllFunctions()) {
      if (only && name !== only) continue;
      const fn = service.getFunction(name);
      const binary = builtBinary(fn.package && fn.package.artifact);
      if (!binary) continue;
      const architecture = fn.architecture || defaultArchitecture;
      wanted.set(`${binary}/${architecture}`, { binary, architecture, fn: name });
    }
    return [...wanted.values()];
  }

  buildAll(only) {
    const builds = this.builds(only);
    if (builds.length === 0) return;
    this.checkCargoLambda();
    for (const { binary, architecture, fn } of builds) {
      const arch = architecture === 'arm64' ? '--arm64' : '--x86-64';
      const args = [
        'lambda',
        'build',
        '--release',
        arch,
        '--output-format',
        'zip',
        '--lambda-dir',
        LAMBDA_DIR,
        '--bin',
        binary,
      ];
      this.log.notice(`Building ${binary} for ${architecture} (function ${fn}): cargo ${args.join(' ')}`);
      const run = spawnSync('cargo', args, {
        cwd: this.serverless.serviceDir,
        // cargo's progress and errors go straight to the terminal.
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      if (run.error || run.status !== 0) {
        const why = run.error ? run.error.message : `exit status ${run.status}`;
        throw new this.serverless.classes.Error(
          `\`cargo ${args.join(' ')}\` failed (${why}); its output is above.`,
          'CARGO_LAMBDA_BUILD_FAILED'
        );
      }
    }
  }

  /// Stops with how to install cargo-lambda when `cargo lambda` cannot run.
  checkCargoLambda() {
    const probe = spawnSync('cargo', ['lambda', '--version'], {
      cwd: this.serverless.serviceDir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (probe.error && probe.error.code === 'ENOENT') {
      throw new this.serverless.classes.Error(
        'Building the Lambda zip needs cargo (the Rust toolchain, https://rustup.rs) and ' +
          `cargo-lambda; cargo is not on PATH. ${INSTALL_HINT}`,
        'CARGO_NOT_FOUND'
      );
    }
    if (probe.error || probe.status !== 0) {
      throw new this.serverless.classes.Error(
        `Building the Lambda zip needs cargo-lambda, and \`cargo lambda\` does not run here. ${INSTALL_HINT}`,
        'CARGO_LAMBDA_NOT_FOUND'
      );
    }
  }
}

module.exports = CargoLambdaBuild;
module.exports.builtBinary = builtBinary;
