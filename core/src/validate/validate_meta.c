/*
 * The 2020-12 meta-schema, built in so a schema may "$ref" it (to accept
 * "any valid schema" as data) without fetching anything. It is written for
 * Soom as one resource rather than the upstream set of vocabulary documents:
 * it checks the same keywords with the same value rules, and subschema
 * positions go through "$dynamicRef": "#meta" so a schema that extends the
 * dialect with its own "$dynamicAnchor": "meta" is honoured. Compiled only
 * when referenced.
 */
#include <string.h>

#include "validate_impl.h"

/* clang-format off */
const char vmeta_schema_text[] =
"{"
"\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
"\"$id\":\"https://json-schema.org/draft/2020-12/schema\","
"\"$dynamicAnchor\":\"meta\","
"\"title\":\"JSON Schema 2020-12 (Soom's built-in meta-schema)\","
"\"type\":[\"object\",\"boolean\"],"
"\"$defs\":{"
  "\"schema\":{\"$dynamicRef\":\"#meta\"},"
  "\"schemaArray\":{\"type\":\"array\",\"minItems\":1,\"items\":{\"$dynamicRef\":\"#meta\"}},"
  "\"schemaMap\":{\"type\":\"object\",\"additionalProperties\":{\"$dynamicRef\":\"#meta\"}},"
  "\"count\":{\"type\":\"integer\",\"minimum\":0},"
  "\"names\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"uniqueItems\":true},"
  "\"uri\":{\"type\":\"string\",\"format\":\"uri-reference\"},"
  "\"anchor\":{\"type\":\"string\",\"pattern\":\"^[A-Za-z_][-A-Za-z0-9._]*$\"},"
  "\"typeName\":{\"enum\":[\"array\",\"boolean\",\"integer\",\"null\",\"number\","
    "\"object\",\"string\"]}"
"},"
"\"properties\":{"
  "\"$id\":{\"$ref\":\"#/$defs/uri\",\"pattern\":\"^[^#]*#?$\"},"
  "\"$schema\":{\"type\":\"string\",\"format\":\"uri\"},"
  "\"$ref\":{\"$ref\":\"#/$defs/uri\"},"
  "\"$anchor\":{\"$ref\":\"#/$defs/anchor\"},"
  "\"$dynamicRef\":{\"$ref\":\"#/$defs/uri\"},"
  "\"$dynamicAnchor\":{\"$ref\":\"#/$defs/anchor\"},"
  "\"$vocabulary\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"boolean\"}},"
  "\"$comment\":{\"type\":\"string\"},"
  "\"$defs\":{\"$ref\":\"#/$defs/schemaMap\"},"
  "\"prefixItems\":{\"$ref\":\"#/$defs/schemaArray\"},"
  "\"items\":{\"$dynamicRef\":\"#meta\"},"
  "\"contains\":{\"$dynamicRef\":\"#meta\"},"
  "\"additionalProperties\":{\"$dynamicRef\":\"#meta\"},"
  "\"properties\":{\"$ref\":\"#/$defs/schemaMap\"},"
  "\"patternProperties\":{\"$ref\":\"#/$defs/schemaMap\","
    "\"propertyNames\":{\"format\":\"regex\"}},"
  "\"dependentSchemas\":{\"$ref\":\"#/$defs/schemaMap\"},"
  "\"propertyNames\":{\"$dynamicRef\":\"#meta\"},"
  "\"if\":{\"$dynamicRef\":\"#meta\"},"
  "\"then\":{\"$dynamicRef\":\"#meta\"},"
  "\"else\":{\"$dynamicRef\":\"#meta\"},"
  "\"allOf\":{\"$ref\":\"#/$defs/schemaArray\"},"
  "\"anyOf\":{\"$ref\":\"#/$defs/schemaArray\"},"
  "\"oneOf\":{\"$ref\":\"#/$defs/schemaArray\"},"
  "\"not\":{\"$dynamicRef\":\"#meta\"},"
  "\"unevaluatedItems\":{\"$dynamicRef\":\"#meta\"},"
  "\"unevaluatedProperties\":{\"$dynamicRef\":\"#meta\"},"
  "\"type\":{\"anyOf\":[{\"$ref\":\"#/$defs/typeName\"},{\"type\":\"array\","
    "\"items\":{\"$ref\":\"#/$defs/typeName\"},\"minItems\":1,\"uniqueItems\":true}]},"
  "\"const\":true,"
  "\"enum\":{\"type\":\"array\",\"items\":true},"
  "\"multipleOf\":{\"type\":\"number\",\"exclusiveMinimum\":0},"
  "\"maximum\":{\"type\":\"number\"},"
  "\"exclusiveMaximum\":{\"type\":\"number\"},"
  "\"minimum\":{\"type\":\"number\"},"
  "\"exclusiveMinimum\":{\"type\":\"number\"},"
  "\"maxLength\":{\"$ref\":\"#/$defs/count\"},"
  "\"minLength\":{\"$ref\":\"#/$defs/count\"},"
  "\"pattern\":{\"type\":\"string\",\"format\":\"regex\"},"
  "\"maxItems\":{\"$ref\":\"#/$defs/count\"},"
  "\"minItems\":{\"$ref\":\"#/$defs/count\"},"
  "\"uniqueItems\":{\"type\":\"boolean\"},"
  "\"maxContains\":{\"$ref\":\"#/$defs/count\"},"
  "\"minContains\":{\"$ref\":\"#/$defs/count\"},"
  "\"maxProperties\":{\"$ref\":\"#/$defs/count\"},"
  "\"minProperties\":{\"$ref\":\"#/$defs/count\"},"
  "\"required\":{\"$ref\":\"#/$defs/names\"},"
  "\"dependentRequired\":{\"type\":\"object\","
    "\"additionalProperties\":{\"$ref\":\"#/$defs/names\"}},"
  "\"title\":{\"type\":\"string\"},"
  "\"description\":{\"type\":\"string\"},"
  "\"default\":true,"
  "\"deprecated\":{\"type\":\"boolean\"},"
  "\"readOnly\":{\"type\":\"boolean\"},"
  "\"writeOnly\":{\"type\":\"boolean\"},"
  "\"examples\":{\"type\":\"array\",\"items\":true},"
  "\"format\":{\"type\":\"string\"},"
  "\"contentEncoding\":{\"type\":\"string\"},"
  "\"contentMediaType\":{\"type\":\"string\"},"
  "\"contentSchema\":{\"$dynamicRef\":\"#meta\"}"
"}"
"}";
/* clang-format on */

bool vmeta_is_uri(const char *uri)
{
    return strcmp(uri, "https://json-schema.org/draft/2020-12/schema") == 0;
}
