"""Redocly CLI's recommended ruleset on the sample app's document and on the
every-feature app's, JSON and YAML: no error, no warning. Also shows the
lint can fail: a document with a broken reference and a missing summary."""

import json
import os
import re
import tempfile

from tools import EVERYTHING, document, harness, run, tool

eq = harness.eq


def lint(path):
    code, out = run([tool("redocly"), "lint", "--extends", "recommended", "--format", "stylish",
                     path])
    problems = [l for l in out.splitlines() if re.search(r"\b(error|warning)\b", l)
                and re.search(r"\d+:\d+", l)]
    return code, problems, out


def check_clean(app, flags=()):
    d = tempfile.mkdtemp()
    path = document(app, os.path.join(d, "openapi" + (".yaml" if flags else ".json")), *flags)
    code, problems, out = lint(path)
    eq((code, problems), (0, []), "redocly lint of %s %s:\n%s" % (app, flags, out))
    return path


def test_sample_app():
    check_clean(harness.SAMPLE)
    check_clean(harness.SAMPLE, ("--yaml",))


def test_every_feature_app():
    check_clean(EVERYTHING)
    check_clean(EVERYTHING, ("--yaml",))


def test_yaml_is_the_same_document():
    d = tempfile.mkdtemp()
    for app in (harness.SAMPLE, EVERYTHING):
        j = document(app, os.path.join(d, "a.json"))
        y = document(app, os.path.join(d, "a.yaml"), "--yaml")
        code, out = run([tool("redocly"), "bundle", y, "--ext", "json", "-o",
                         os.path.join(d, "b.json")])
        eq(code, 0, "redocly bundle: " + out)
        with open(j) as a, open(os.path.join(d, "b.json")) as b:
            eq(json.load(b), json.load(a), "YAML read by js-yaml = JSON (%s)" % app)


def test_lint_fails_on_a_broken_document():
    d = tempfile.mkdtemp()
    path = document(harness.SAMPLE, os.path.join(d, "openapi.json"))
    with open(path) as f:
        doc = json.load(f)
    del doc["paths"]["/hello"]["get"]["summary"]
    doc["paths"]["/hello"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] = {
        "$ref": "#/components/schemas/Nowhere"}
    with open(path, "w") as f:
        json.dump(doc, f)
    code, problems, out = lint(path)
    eq(code != 0, True, "lint fails:\n" + out)
    eq("no-unresolved-refs" in out and "operation-summary" in out, True, "names both:\n" + out)
    eq(len(problems) >= 2, True, "counted as problems")


harness.main(globals())
