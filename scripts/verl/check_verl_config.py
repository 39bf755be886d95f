#!/usr/bin/env python3
"""Check Assets/verl/run_rpt_grpo.sh against the installed verl wheel's own Hydra config.

For each phase the launch script can run (base, phase1, phase2) it takes the overrides that
`run_rpt_grpo.sh --print-overrides <phase>` prints and composes verl's `ppo_trainer` config with them,
exactly as `python3 -m verl.trainer.main_ppo` does (Hydra struct mode: a key that does not exist fails).
Then it checks that every override's value reads back from the composed config, that all interpolations
resolve, that the paper's hyperparameters hold in the composed config (a guard against edits to the script),
and what verl's trainer asserts at start that composition alone does not. Negative self-checks prove the
checks can fail: a misspelled key must not compose, a legacy (0.7.x) reward key, which composes in 0.9.x but
is ignored by the trainer, must be flagged, and a wrong value must fail read-back.

Needs only hydra-core and omegaconf: verl's yaml is read from the installed package's files without
importing verl (which would import torch). Exits non-zero on any failure.
"""
import argparse
import importlib.metadata
import importlib.util
import os
import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, ListConfig, OmegaConf

REPO = Path(__file__).resolve().parents[2]
PHASES = ("base", "phase1", "phase2")
# 0.7.x locations of the reward settings: still in 0.9.x's config (legacy_reward_impl.yaml), so they
# compose, but verl.trainer.main_ppo reads reward.custom_reward_function / reward.reward_manager only.
LEGACY_PREFIXES = ("custom_reward_function.", "reward_model.", "sandbox_fusion.")

passed, failed = 0, 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print(f"  ok    {what}")
    else:
        failed += 1
        print(f"  FAIL  {what}")
    return ok


def printed_overrides(script, phase, model):
    # The script's defaults are what is checked: drop the environment variables it reads but MODEL_PATH.
    unset = ("N_GPUS", "N_NODES", "OUT", "STEPS", "DYNAMIC_SAMPLING_FROM")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env["MODEL_PATH"] = str(model)
    out = subprocess.run(["bash", str(script), "--print-overrides", phase], env=env, check=True,
                         capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line.strip()]


def legacy_keys(overrides):
    return [o for o in overrides if o.lstrip("+~").startswith(LEGACY_PREFIXES)]


def plain(value):
    return OmegaConf.to_container(value, resolve=True) if isinstance(value, (DictConfig, ListConfig)) else value


# The paper's settings (RPT Table 5 / App. B) as they must read in the composed config, whatever the script
# says: a regression guard on the hyperparameters, not only on the keys. Phase 1 stops at the half-way step.
PAPER = {
    "algorithm.adv_estimator": "grpo",
    "data.train_batch_size": 256,
    "actor_rollout_ref.actor.ppo_mini_batch_size": 256,   # = batch: one optimizer step per rollout batch
    "actor_rollout_ref.actor.ppo_epochs": 1,
    "actor_rollout_ref.rollout.n": 8,
    "actor_rollout_ref.actor.rollout_n": 8,                # interpolated from rollout.n
    "actor_rollout_ref.rollout.temperature": 0.8,
    "actor_rollout_ref.rollout.prompt_length": 4096,       # interpolated from data.max_prompt_length
    "actor_rollout_ref.rollout.response_length": 8192,
    "actor_rollout_ref.actor.optim.lr": 1e-6,
    "actor_rollout_ref.actor.optim.lr_scheduler_type": "constant",
    "actor_rollout_ref.actor.optim.lr_warmup_steps_ratio": 0.0,
    "actor_rollout_ref.actor.optim.betas": [0.9, 0.999],
    "actor_rollout_ref.actor.optim.weight_decay": 0.01,
    "actor_rollout_ref.actor.optim.clip_grad": 0.2,        # what the 0.9.x engine reads
    "actor_rollout_ref.actor.clip_ratio_low": 0.2,
    "actor_rollout_ref.actor.clip_ratio_high": 0.2,
    "actor_rollout_ref.actor.policy_loss.loss_mode": "vanilla",
    "actor_rollout_ref.actor.loss_agg_mode": "token-mean",
    "actor_rollout_ref.actor.use_kl_loss": False,
    "algorithm.use_kl_in_reward": False,
    "actor_rollout_ref.actor.entropy_coeff": 0,
    "actor_rollout_ref.rollout.name": "vllm",
    "reward.reward_manager.name": "naive",
    "reward.custom_reward_function.name": "compute_score",
    "reward.reward_model.enable": False,                   # rule-based reward (filter_groups needs it)
    "data.prompt_key": "prompt",
}
STEPS = {"base": 1000, "phase1": 500, "phase2": 1000}


def same(want, got):
    if isinstance(want, (int, float)) and isinstance(got, (int, float)) and not isinstance(got, bool):
        return abs(got - want) <= 1e-12 * max(1.0, abs(want))
    return want == got


def differences(cfg, expected):
    """(key, expected, actual) for each key whose composed value differs from the expected one."""
    got = {k: plain(OmegaConf.select(cfg, k, default="<missing>")) for k in expected}
    return [(k, w, got[k]) for k, w in expected.items() if not same(w, got[k])]


def readback(cfg, overrides):
    expected = {}
    for ov in OverridesParser.create().parse_overrides(overrides):
        expected[ov.key_or_group] = ov.value()   # Hydra keeps the last value of a repeated key
    return expected, differences(cfg, expected)


def report(bad):
    return "".join(f"\n          {k}: want {w!r}, got {g!r}" for k, w, g in bad)


def invariants(cfg, phase, tokenizer_sha):
    """The paper's values, plus what main_ppo's validate_config and the workers assert at start."""
    a, r, d, t = cfg.actor_rollout_ref.actor, cfg.actor_rollout_ref.rollout, cfg.data, cfg.trainer
    bad = differences(cfg, {**PAPER, "trainer.total_training_steps": STEPS[phase],
                            "algorithm.filter_groups.enable": phase == "phase2"})
    check(not bad, f"{phase}: the paper's {len(PAPER) + 2} settings, dynamic sampling "
          f"{'on' if phase == 'phase2' else 'off'}" + report(bad))
    n_gpus = t.n_gpus_per_node * t.nnodes
    check((d.train_batch_size * r.n) % n_gpus == 0,
          f"{phase}: batch x n = {d.train_batch_size * r.n} responses divide over {n_gpus} GPUs")
    check(a.use_dynamic_bsz and a.ppo_max_token_len_per_gpu >= r.prompt_length + r.response_length,
          f"{phase}: dynamic micro-batches, token budget {a.ppo_max_token_len_per_gpu} holds one full sequence")
    check(str(cfg.reward.custom_reward_function.path).endswith("/rpt_reward.py"),
          f"{phase}: reward module is rpt_reward.py next to the data")
    # main_ppo merges ray_kwargs.ray_init.runtime_env over its own defaults and passes it to ray.init.
    env = OmegaConf.merge({"env_vars": {"TOKENIZERS_PARALLELISM": "true"}}, cfg.ray_kwargs.ray_init.runtime_env)
    check(env.env_vars.get("RPT_POLICY_TOKENIZER_SHA256") == tokenizer_sha,
          f"{phase}: the policy tokenizer's sha256 reaches the Ray workers' environment (rpt_reward.py checks it)")
    if phase == "phase1":
        check(t.save_freq > 0, f"{phase}: checkpoints (save_freq {t.save_freq}), so phase 2 can resume at its end")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--script", default=str(REPO / "Assets/verl/run_rpt_grpo.sh"))
    args = ap.parse_args()

    spec = importlib.util.find_spec("verl")   # finds the package without executing it (no torch)
    if spec is None or not spec.submodule_search_locations:
        sys.exit("verl is not installed in this interpreter")
    config_dir = os.path.join(list(spec.submodule_search_locations)[0], "trainer", "config")
    version = importlib.metadata.version("verl")
    print(f"verl {version} (hydra-core {importlib.metadata.version('hydra-core')}, "
          f"omegaconf {importlib.metadata.version('omegaconf')}): {config_dir}")
    check(version.startswith("0.9."), f"verl version {version} is the 0.9.x the launch script targets")

    with tempfile.TemporaryDirectory(prefix="rpt-verl-model-") as tmp, \
         initialize_config_dir(config_dir=config_dir, version_base=None):
        # A stand-in policy directory: the script hashes its tokenizer.json for the reward's tokenizer check.
        model = Path(tmp)
        (model / "tokenizer.json").write_text('{"model": {}}\n')
        tokenizer_sha = hashlib.sha256((model / "tokenizer.json").read_bytes()).hexdigest()
        for phase in PHASES:
            overrides = printed_overrides(args.script, phase, model)
            try:
                cfg = compose("ppo_trainer", overrides=overrides)
            except Exception as e:   # Hydra's ConfigCompositionException names the offending key
                check(False, f"{phase}: {len(overrides)} overrides compose: {type(e).__name__}: {e}")
                continue
            check(True, f"{phase}: {len(overrides)} overrides compose (no unknown key)")
            legacy = legacy_keys(overrides)
            check(not legacy,
                  f"{phase}: no legacy reward keys (the 0.9.x trainer ignores them) {legacy or ''}".rstrip())
            expected, bad = readback(cfg, overrides)
            check(not bad, f"{phase}: all {len(expected)} values read back" + report(bad))
            try:
                OmegaConf.to_container(cfg, resolve=True)
                check(True, f"{phase}: every interpolation resolves")
            except Exception as e:
                check(False, f"{phase}: every interpolation resolves: {type(e).__name__}: {e}")
            invariants(cfg, phase, tokenizer_sha)

        # Negative self-checks on verl's defaults (independent of the script): the same machinery must reject
        # what main_ppo would reject or silently ignore.
        try:
            compose("ppo_trainer", overrides=["actor_rollout_ref.actor.optim.clip_gard=0.2"])
            check(False, "self-check: a misspelled key (optim.clip_gard) fails to compose")
        except Exception as e:
            check("clip_gard" in str(e), "self-check: a misspelled key (optim.clip_gard) fails to compose")
        legacy = ["custom_reward_function.path=rpt_reward.py"]
        compose("ppo_trainer", overrides=legacy)   # it composes: that is why the guard exists
        check(legacy_keys(legacy) == legacy, "self-check: a legacy 0.7.x reward key is flagged")
        _, bad = readback(compose("ppo_trainer"), ["algorithm.adv_estimator=grpo"])   # the default is gae
        check(bool(bad), "self-check: a value that differs from the composed config fails read-back")

    print(f"check_verl_config: verl {version}, {len(PHASES)} phases: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
