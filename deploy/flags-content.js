'use strict';

// Serverless Framework v3 variable resolver for the hosted feature-flag document.
//
//   Content: ${file(./deploy/flags-content.js):content}
//
// `${file(./example-lambda/flags.json)}` would inline the document as a YAML object, which
// CloudFormation rejects for AWS::AppConfig::HostedConfigurationVersion.Content (cfn-lint E3012:
// "is not of type 'string'"). This returns the same document as one JSON string instead.
//
// example-lambda/flags.json is the single source of truth (the Rust macro reads it at compile
// time); nothing here copies or edits the flags.
//
// The string is re-serialised (minified), so whitespace-only edits of flags.json do not create a
// new hosted configuration version. Serverless v3 resolves `${...}` again inside strings that a
// resolver returns, so every `${` (which can only occur inside a JSON string) is written as
// `\u0024{`: the same JSON value, but nothing Serverless would try to resolve.

const fs = require('fs');
const path = require('path');

const FLAGS_FILE = path.join(__dirname, '..', 'example-lambda', 'flags.json');

function content() {
  const text = fs.readFileSync(FLAGS_FILE, 'utf8');
  let doc;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`${FLAGS_FILE} is not valid JSON: ${err.message}`);
  }
  return JSON.stringify(doc).replace(/\$\{/g, '\\u0024{');
}

module.exports = { content, FLAGS_FILE };
