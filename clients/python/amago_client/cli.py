"""``amago-gym``: train an external experiment on a gymnasium env from the command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Dict, List, Optional


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="amago-gym",
        description="Step gymnasium envs here and train an AMAGO agent on them in an Amago server.",
    )
    parser.add_argument("--url", default=os.environ.get("AMAGO_URL", "http://127.0.0.1:8080"),
                        help="the server (default $AMAGO_URL or http://127.0.0.1:8080)")
    parser.add_argument("--env", required=True, help="a gymnasium env id, e.g. CartPole-v1")
    parser.add_argument("--env-kwargs", default=None, metavar="JSON",
                        help='keyword arguments of gymnasium.make, e.g. \'{"is_slippery": false}\'')
    parser.add_argument("--actors", type=int, default=8, help="envs stepped in lockstep (default 8)")
    parser.add_argument("--spec", default=None, metavar="FILE",
                        help="a JSON file of spec fields merged into the spec made from the env")
    parser.add_argument("--experiment", default=None, metavar="ID", help="attach to this external experiment")
    parser.add_argument("--token", default=os.environ.get("AMAGO_TOKEN"), help="bearer token (default $AMAGO_TOKEN)")
    parser.add_argument("--max-env-steps", type=int, default=None, help="stop after this many env steps")
    parser.add_argument("--name", default=None, help="the new experiment's name (default: the env id)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the envs' first resets")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Parses the arguments, runs :func:`amago_client.gym.run` and prints its summary as JSON."""
    args = _parser().parse_args(argv)
    from .errors import AmagoError
    from .gym import run

    overrides: Optional[Dict[str, Any]] = None
    if args.spec:
        with open(args.spec, encoding="utf-8") as f:
            overrides = json.load(f)
    env_kwargs = json.loads(args.env_kwargs) if args.env_kwargs else None
    try:
        summary = run(args.url, args.env, actors=args.actors, spec_overrides=overrides, experiment=args.experiment,
                      token=args.token, max_env_steps=args.max_env_steps, progress=not args.quiet,
                      env_kwargs=env_kwargs, name=args.name, seed=args.seed)
    except AmagoError as error:
        print(f"amago-gym: {error}", file=sys.stderr)
        for entry in error.fields:
            print(f"  {entry.get('field')}: expected {entry.get('expected')}", file=sys.stderr)
        return 1
    except (ValueError, TimeoutError, RuntimeError) as error:
        print(f"amago-gym: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    print(json.dumps({
        "experiment": summary.experiment, "status": summary.status, "env_steps": summary.env_steps,
        "epoch": summary.epoch, "episodes": len(summary.episode_returns),
        "episode_returns": summary.episode_returns[-20:], "eval_returns": summary.eval_returns,
        "wall_time": round(summary.wall_time, 2),
    }))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
