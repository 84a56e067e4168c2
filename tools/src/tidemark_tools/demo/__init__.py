"""A demo Trust: reproducible synthetic schools, pupils and results in national proportions.

Dashboards are only believable when the numbers behind them look like England's, so the
generator is calibrated to DfE national figures, summative and statutory results alike
(`statutory`), both making the one shape of `trust`; `loader` posts a generated Trust to the ingest
API and `cli` (`tidemark-demo`) drives both.
"""

from tidemark_tools.demo.generator import generate_trust, national_summary
from tidemark_tools.demo.statutory import statutory_summary
from tidemark_tools.demo.trust import DemoTrust

__all__ = ["DemoTrust", "generate_trust", "national_summary", "statutory_summary"]
