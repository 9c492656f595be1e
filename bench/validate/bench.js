// The Ajv 8 side of the validation benchmark: the same schema and documents
// as bench.c, compiled with allErrors (Soom collects every error too), the
// same timing loop. Run by run.sh after `npm install`.
'use strict';
const fs = require('fs');
const path = require('path');
const Ajv2020 = require('ajv/dist/2020');

const dir = process.argv[2] || __dirname;
const seconds = Number(process.argv[3] || 2);
const read = (name) => JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'));

const ajv = new Ajv2020({ allErrors: true });
const validate = ajv.compile(read('schema.json'));
const valid = read('valid.json');
const invalid = read('invalid.json');

// Five rounds, the best one reported (the machine may be shared), after
// V8 has warmed up on the same loop.
function measure(doc) {
    let best = 0;
    for (let round = 0; round < 5; round++) {
        let done = 0;
        const start = process.hrtime.bigint();
        let elapsed;
        do {
            for (let i = 0; i < 1000; i++) validate(doc);
            done += 1000;
            elapsed = Number(process.hrtime.bigint() - start) / 1e9;
        } while (elapsed < seconds / 5);
        best = Math.max(best, done / elapsed);
    }
    return best;
}

if (!validate(valid)) throw new Error('the valid document is invalid');
if (validate(invalid)) throw new Error('the invalid document is valid');
const errors = validate.errors.length;
const ok = measure(valid);
const bad = measure(invalid);
console.log(`ajv  valid   ${ok.toFixed(0).padStart(12)} docs/s`);
console.log(`ajv  invalid ${bad.toFixed(0).padStart(12)} docs/s (${errors} errors each)`);
