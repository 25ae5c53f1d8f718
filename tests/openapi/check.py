#!/usr/bin/env python3
"""Checks the broker's admin API against its own OpenAPI document with schemathesis.

Usage: python3 tests/openapi/check.py --url http://127.0.0.1:8080 --token ADMIN_TOKEN
                                      [--max-examples 20] [--seed N] [--max-failures N]
                                      [-- more schemathesis run options]

Fetches <url>/admin/openapi.json, then calls every documented operation (GET and POST) with
generated data and the given bearer token, checking that the broker never answers with a
server error and that every status code, content type, header and body is the documented
one. Exits 0 when everything conforms. Install with:
    pip install -r tests/openapi/requirements.txt
"""

import argparse
import sys

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the broker's base URL")
    parser.add_argument("--token", required=True, help="an admin bearer token (auditor is enough)")
    parser.add_argument("--max-examples", type=int, default=20)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--max-failures", type=int)
    parser.add_argument("extra", nargs="*", help="more `schemathesis run` options, after --")
    args = parser.parse_args()

    try:
        from schemathesis.cli import schemathesis as cli
    except ImportError:
        print("schemathesis is not installed: pip install -r tests/openapi/requirements.txt", file=sys.stderr)
        return 2

    base = args.url.rstrip("/")
    argv = [
        "run",
        f"{base}/admin/openapi.json",
        "--url",
        base,
        "--header",
        f"Authorization: Bearer {args.token}",
        "--checks",
        CHECKS,
        # Stateful testing needs OpenAPI links, which this document does not declare.
        "--phases",
        "examples,coverage,fuzzing",
        "--include-method-regex",
        "^(GET|POST)$",
        "--max-examples",
        str(args.max_examples),
        "--workers",
        "2",
        "--request-timeout",
        "10",
        "--generation-database",
        "none",
        "--no-color",
    ]
    if args.seed is not None:
        argv += ["--seed", str(args.seed)]
    if args.max_failures is not None:
        argv += ["--max-failures", str(args.max_failures)]
    argv += args.extra
    # The token is not printed: schemathesis sanitizes Authorization in its output too.
    print("schemathesis " + " ".join(a if not a.startswith("Authorization:") else "Authorization: Bearer ***" for a in argv), flush=True)
    try:
        cli.main(args=argv, prog_name="schemathesis", standalone_mode=True)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
