"""Warm resolves per second for a catalogue of 500 models and 2,000 personas.

    .venv/bin/python bench/resolve.py [--models 500] [--personas 2000] [--seconds 3]

Builds the catalogue in a throw-away SQLite database, then times, in this one process:
- warm: `resolve_live` for a persona (and a task, for half the requests) with the
  snapshot and the profiles already cached: one cache read for the version, no SQL;
- pure: `routing.resolve.resolve` alone on the same requests, the floor the warm path
  can approach;
- cold: the same resolve after the configuration version moved (a rebuild each time).
Target (issue 3): warm >= 20,000 resolves/s on this machine.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(data_dir: str) -> None:
    os.environ.update(QF_ENV="dev", QF_DATA_DIR=data_dir, QF_LOG_LEVEL="WARNING")
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qfweb.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build_catalogue(n_models: int, n_personas: int, rng: random.Random) -> tuple[list[str], list[str]]:
    from django.db import transaction

    from personas.models import Persona, PersonaFallback, PersonaTaskOverride
    from routing.models import Capability, Default, Model, ModelCapability, Provider, Task, TaskFallback, TaskRequirement

    with transaction.atomic():
        providers = Provider.objects.bulk_create(
            Provider(name=f"p{i}", kind="openai", base_url=f"https://api{i}.example.com/v1") for i in range(25)
        )
        models = Model.objects.bulk_create(
            Model(provider=providers[i % 25], name=f"model-{i}", context_window=rng.choice([8192, 32_000, 128_000]),
                  input_price=rng.uniform(0.1, 10), output_price=rng.uniform(0.4, 30), weight=rng.randint(1, 3))
            for i in range(n_models)
        )
        caps = Capability.objects.bulk_create(Capability(name=n) for n in ("code", "reasoning", "creative", "inexpensive"))
        ModelCapability.objects.bulk_create(
            ModelCapability(model=m, capability=c, strength=rng.randint(0, 4)) for m in models for c in caps
        )
        tasks = []
        for i, strategy in enumerate(["failover", "round_robin", "cost_optimized", "weighted", "lowest_latency", "capability"] * 2):
            task = Task.objects.create(name=f"task{i}", primary=rng.choice(models), strategy=strategy)
            TaskFallback.objects.bulk_create(TaskFallback(task=task, model=m, position=p) for p, m in enumerate(rng.sample(models, 3), 1))
            TaskRequirement.objects.create(task=task, capability=caps[i % 4], min_strength=2)
            tasks.append(task)
        Default.objects.create(modality="text", model=models[0])
        personas = Persona.objects.bulk_create(
            Persona(slug=f"persona-{i}", modality="text", model=rng.choice(models)) for i in range(n_personas)
        )
        PersonaFallback.objects.bulk_create(
            PersonaFallback(persona=p, model=m, position=k) for p in personas for k, m in enumerate(rng.sample(models, 2), 1)
        )
        PersonaTaskOverride.objects.bulk_create(
            PersonaTaskOverride(persona=p, task=rng.choice(tasks), model=rng.choice(models)) for p in personas[::4]
        )
    from routing.snapshot import bump_config_version

    bump_config_version()  # bulk_create sends no signals
    return [p.slug for p in personas], [t.name for t in tasks]


def rate(fn, requests, seconds: float) -> float:
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for request in requests:
            fn(request)
        done += len(requests)
    return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--personas", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as data_dir:
        setup_django(data_dir)
        from personas.profiles import profile_get
        from routing.resolution import resolve_live
        from routing.resolve import ResolveRequest, resolve
        from routing.snapshot import bump_config_version, snapshot_get

        slugs, tasks = build_catalogue(args.models, args.personas, rng)
        requests = [
            (rng.choice(slugs), rng.choice(tasks) if i % 2 else None, f"req-{i}", rng.randint(100, 20_000))
            for i in range(1000)
        ]

        def warm(r):
            slug, task, request_id, tokens = r
            return resolve_live(persona=profile_get(slug), task=task, request_id=request_id, input_tokens=tokens)

        snapshot = snapshot_get()
        pure_requests = [
            ResolveRequest(persona=profile_get(s), task=t, request_id=q, input_tokens=n) for s, t, q, n in requests
        ]

        def cold(r):
            bump_config_version()
            return warm(r)

        for r in requests:
            warm(r)  # fill the caches
        chains = [len(warm(r).chain) for r in requests]
        pure = rate(lambda q: resolve(snapshot, q), pure_requests, args.seconds)
        warm_rate = rate(warm, requests, args.seconds)
        cold_rate = rate(cold, requests[:5], min(args.seconds, 5.0))
        print(f"catalogue: {args.models} models, {args.personas} personas, {len(tasks)} tasks; "
              f"mean chain length {sum(chains) / len(chains):.1f}")
        print(f"warm resolve_live: {warm_rate:10,.0f} resolves/s  ({1e6 / warm_rate:.1f} us each; target >= 20,000/s)")
        print(f"pure resolve():    {pure:10,.0f} resolves/s  (warm is {warm_rate / pure:.2f}x the pure floor)")
        print(f"cold (rebuild):    {cold_rate:10,.1f} resolves/s  (warm is {warm_rate / cold_rate:,.0f}x cold)")


if __name__ == "__main__":
    main()
