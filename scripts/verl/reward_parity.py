"""Runs the exported reward module on golden cases written by the Swift tests, as verl's reward manager calls it.

    python3 scripts/verl/reward_parity.py CASES.jsonl Assets/verl/rpt_reward.py

Each case is {"data_source", "solution_str", "ground_truth", "extra_info", "expected"}; `expected` is the reward
`rpt` itself gives (AnswerExtractor + PrefixMatchReward). Prints each mismatch and a closing
"reward parity: N passed, M failed" line; exits 1 on any mismatch. Standard library only.
"""

import importlib.util
import json
import sys


def main():
    cases_path, module_path = sys.argv[1], sys.argv[2]
    spec = importlib.util.spec_from_file_location("rpt_reward", module_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    passed = failed = 0
    with open(cases_path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            case = json.loads(line)
            # Keyword arguments, exactly as verl's NaiveRewardManager passes them.
            got = module.compute_score(data_source=case["data_source"], solution_str=case["solution_str"],
                                       ground_truth=case["ground_truth"], extra_info=case.get("extra_info"))
            if isinstance(got, float) and got == case["expected"]:
                passed += 1
            else:
                failed += 1
                print(f"case {n}: python {got!r}, rpt {case['expected']!r}: {case['solution_str']!r}")
    print(f"reward parity: {passed} passed, {failed} failed")
    sys.exit(1 if failed or not passed else 0)


if __name__ == "__main__":
    main()
