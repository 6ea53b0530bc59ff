'use strict';

// Serverless Framework v3 plugin: lets `--region` name every region of
// custom.appconfigExtensionLayers.
//
//   plugins:
//     - ./deploy/newer-regions.js
//
// Serverless v3 (3.40.0 is its last release; v4 needs a login) validates provider.region against
// a list written before ca-west-1, ap-east-2, ap-southeast-5, ap-southeast-6, ap-southeast-7 and
// mx-central-1 opened, and with `configValidationMode: error` refuses them ("must be equal to one
// of the allowed values"). AWS publishes the AppConfig extension there too, so this adds the
// regions of the layer table (and only those: a typo such as `eu-wset-1` is still refused) to the
// schema's list before the framework validates the configuration. Nothing else in packaging
// depends on the region list.

class NewerRegions {
  constructor(serverless) {
    const handler = serverless.configSchemaHandler;
    const region =
      handler &&
      handler.schema &&
      handler.schema.properties.provider &&
      handler.schema.properties.provider.properties &&
      handler.schema.properties.provider.properties.region;
    const input = serverless.configurationInput || {};
    const table = (input.custom && input.custom.appconfigExtensionLayers) || {};
    if (!region || !Array.isArray(region.enum)) return;
    for (const name of Object.keys(table)) {
      if (/^[a-z]{2}(-[a-z]+)+-\d+$/.test(name) && !region.enum.includes(name)) {
        region.enum.push(name);
      }
    }
  }
}

module.exports = NewerRegions;
