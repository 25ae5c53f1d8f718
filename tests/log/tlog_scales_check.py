#!/usr/bin/env python3
"""The broker's log read by an independent implementation of C2SP tlog-tiles, signed notes and
cosignatures: tlog-scales (requirements.txt). Run by tests/tests/audit_log.rs against a running
broker; exits 0 when everything checks, 1 with the reason otherwise.

  tlog_scales_check.py --log http://127.0.0.1:8400 --log-vkey VKEY --witness-vkey VKEY \
      --old-checkpoint FILE --new-checkpoint FILE [--token-env NAME]

It reads the newest checkpoint and verifies its signature; computes the root from the tiles;
computes inclusion proofs itself and checks them against the leaf hashes the admin API names (and
compares its proofs with the admin API's). Of two earlier checkpoints as served (each signed by the
log and cosigned by the witness), it verifies both signatures and cosignatures, and checks its own
consistency proofs from the older to the newer and from the newer to the newest.
"""

import argparse
import base64
import os
import sys

import requests
from tlog_scales.backend import HttpBackend
from tlog_scales.reader import TilesReader
from tlog_scales.signing import Ed25519CosignatureVerifier, Vkey
from tlog_scales.tlog import Checkpoint, ConsistencyProofInvalid, InclusionProofInvalid


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def fail(text: str) -> None:
    print(f"tlog-scales: FAILED: {text}", file=sys.stderr)
    sys.exit(1)


def admin(base: str, token: str, path: str) -> dict:
    r = requests.get(base + path, headers={"Authorization": f"Bearer {token}"}, timeout=20)
    if r.status_code != 200:
        fail(f"GET {path} answered {r.status_code}: {r.text}")
    return r.json()


def cosigned_by(cp: Checkpoint, witness: Vkey, which: str) -> int:
    """The timestamp of the witness's verified cosignature of `cp`."""
    verifier = Ed25519CosignatureVerifier(witness)
    for sig in cp.signatures:
        if witness.match(sig):
            try:
                verifier.verify_note(sig, cp)
            except Exception as e:  # cryptography's InvalidSignature says nothing more
                fail(f"the witness's cosignature of the {which} checkpoint does not verify: {e!r}")
            return Ed25519CosignatureVerifier.get_timestamp(sig.payload)
    fail(f"the {which} checkpoint carries no cosignature by {witness.name}: {cp}")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", required=True, help="the broker's base URL")
    parser.add_argument("--log-vkey", required=True)
    parser.add_argument("--witness-vkey", required=True)
    parser.add_argument("--old-checkpoint", required=True)
    parser.add_argument("--new-checkpoint", required=True)
    parser.add_argument("--token-env", default="E2E_AUDITOR")
    args = parser.parse_args()
    base = args.log.rstrip("/")
    token = os.environ[args.token_env]
    log_vkey = Vkey.from_string(args.log_vkey)
    witness_vkey = Vkey.from_string(args.witness_vkey)

    reader = TilesReader(HttpBackend(base + "/log"))
    cp = reader.get_checkpoint()
    try:
        cp.verify(log_vkey)
    except Exception as e:
        fail(f"the checkpoint's signature does not verify with {args.log_vkey}: {e!r}")
    print(f"checkpoint {cp.origin} size {cp.size}: signed by the log")

    root = reader.calculate_root_hash()
    if root != cp.root_hash:
        fail(f"the tiles hash to {b64(root)}, the checkpoint says {b64(cp.root_hash)}")
    print(f"root from the tiles: {b64(root)}")

    leaves = sorted({0, 1, cp.size // 2, cp.size - 1} & set(range(cp.size)))
    for leaf in leaves:
        ours = reader.get_inclusion_proof(leaf, cp.size)
        theirs = admin(base, token, f"/admin/log/proof/inclusion?leaf={leaf}&size={cp.size}")
        leaf_hash = base64.b64decode(theirs["leaf_hash"])
        if base64.b64decode(theirs["root"]) != cp.root_hash:
            fail(f"the admin API's root of {cp.size} is {theirs['root']}, not the checkpoint's")
        if reader.mth(leaf, leaf + 1) != leaf_hash:
            fail(f"leaf {leaf}: the tiles hold another hash than the admin API's {theirs['leaf_hash']}")
        try:
            ours.check(leaf_hash, cp.root_hash)
        except InclusionProofInvalid as e:
            fail(f"leaf {leaf}: our inclusion proof does not check: {e}")
        if [b64(h) for h in ours.node_hashes] != theirs["proof"]:
            fail(f"leaf {leaf}: the admin API's inclusion proof differs from ours: {theirs['proof']}")
        # A proof that checks anything would prove nothing: another leaf hash must fail.
        try:
            ours.check(bytes(32), cp.root_hash)
            fail(f"leaf {leaf}: an inclusion proof of a zero hash checked")
        except InclusionProofInvalid:
            pass
    print(f"inclusion of leaves {leaves}: our proofs check and equal the admin API's")

    def signed(path: str, which: str) -> Checkpoint:
        with open(path, encoding="utf-8") as f:
            checkpoint = Checkpoint.from_text(f.read())
        try:
            checkpoint.verify(log_vkey)
        except Exception as e:
            fail(f"the {which} checkpoint's signature does not verify: {e!r}")
        cosigned_by(checkpoint, witness_vkey, which)
        return checkpoint

    old = signed(args.old_checkpoint, "older")
    new = signed(args.new_checkpoint, "newer")
    print(f"checkpoints {old.size} and {new.size}: signed by the log, cosigned by {witness_vkey.name}")
    if not 0 < old.size < new.size <= cp.size:
        fail(f"expected 0 < {old.size} < {new.size} <= {cp.size}")
    proof = reader.get_consistency_proof(old.size, new.size)
    try:
        proof.check(old.root_hash, new.root_hash)
    except ConsistencyProofInvalid as e:
        fail(f"our consistency proof from {old.size} to {new.size} does not check: {e}")
    try:
        proof.check(old.root_hash, bytes(32))
        fail("a consistency proof checked against a zero root")
    except ConsistencyProofInvalid:
        pass
    theirs = admin(base, token, f"/admin/log/proof/consistency?from={old.size}&to={new.size}")
    if [b64(h) for h in proof.node_hashes] != theirs["proof"]:
        fail(f"the admin API's consistency proof differs from ours: {theirs['proof']}")
    print(f"consistency from {old.size} to {new.size}: our proof checks and equals the admin API's")
    if new.size < cp.size:
        proof = reader.get_consistency_proof(new.size, cp.size)
        try:
            proof.check(new.root_hash, cp.root_hash)
        except ConsistencyProofInvalid as e:
            fail(f"our consistency proof from {new.size} to {cp.size} does not check: {e}")
        print(f"consistency from {new.size} to {cp.size} (the newest): our proof checks")
    print("ok")


if __name__ == "__main__":
    main()
