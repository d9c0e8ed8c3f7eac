#!/usr/bin/env python3
"""Check scenario files against simrun's JSON Schema with the `jsonschema` package (an implementation
independent of simrun), as an editor would. Prints one line per file, `ok` or `invalid` with the first
problem, and exits 1 if any file is invalid.

    python3 tools/validate_scenarios.py scenarios/scenario.schema.json scenarios/*.json
"""
import json
import sys

import jsonschema


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    bad = 0
    for path in sys.argv[2:]:
        with open(path, encoding="utf-8") as f:
            document = json.load(f)
        errors = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            bad += 1
            where = ".".join(map(str, errors[0].absolute_path)) or "(top level)"
            print(f"{path}: invalid: {where}: {errors[0].message}")
        else:
            print(f"{path}: ok")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
