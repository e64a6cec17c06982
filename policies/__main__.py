"""The CrossGuard pack: assembly only (the rules live in ``guards/``, importable without a server).

pulumi preview --stack staging --policy-pack policies --policy-pack-config policies/config/staging.json
"""

import sys
from pathlib import Path

from pulumi_policy import EnforcementLevel, PolicyPack

# The CLI runs this file with the pack directory as the program directory; make ``guards`` importable
# whatever the working directory is.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from guards import PACK_NAME, build_policies

PolicyPack(
    name=PACK_NAME,
    policies=build_policies(),
    enforcement_level=EnforcementLevel.MANDATORY,
)
