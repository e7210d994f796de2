"""Price assumptions and cost formulas: USD per million tokens, joules per token, break-even, pricing a run.

Modules:

* :mod:`~benchlib.cost.formulas`: pure formulas on numbers (USD per hour, per
  million tokens, per token at a hosted API, joules per token, devices to match
  a cloud instance).
* :mod:`~benchlib.cost.profiles`: owned, rented and hosted (per-token API) price profiles, validated.
* :mod:`~benchlib.cost.pricing`: what a profile costs per hour and per million tokens, or,
  for a hosted API, per token (:func:`hosted_cost_usd`, :func:`hosted_usd_per_million_output_tokens`);
  the hourly functions refuse a hosted API by name.
* :mod:`~benchlib.cost.break_even`: the utilization where edge and cloud cost the same.
* :mod:`~benchlib.cost.uncertainty`: cost and energy intervals from bootstrap samples.
* :mod:`~benchlib.cost.price_files`: YAML price files merged into a price book.
* :mod:`~benchlib.cost.runs`: the profile stored with a run, and :func:`price_run`.
* :mod:`~benchlib.cost.report`: tables of the cost-model notebook (and
  :mod:`~benchlib.cost.report_figures`: its figures).

Profiles come from YAML price files (schema in ``data/reference/prices.yaml``):
:func:`load_prices` reads the article's defaults and then your files, which add
profiles or replace them by name.
"""

from benchlib.cost.break_even import BreakEven, break_even, break_even_utilization
from benchlib.cost.formulas import (
    TOKENS_PER_MILLION,
    DeviceCount,
    FloatOrArray,
    amortization_usd_per_h,
    average_power_w,
    edge_devices_to_match,
    electricity_usd_per_h,
    energy_per_token_j,
    owned_hourly_cost_usd,
    rented_hourly_cost_usd,
    requests_per_day,
    token_cost_usd,
    tokens_per_hour,
    usd_per_million_tokens,
)
from benchlib.cost.price_files import DEFAULT_PRICES_PATH, SCHEMA_VERSION, PriceBook, load_price_profile, load_prices
from benchlib.cost.pricing import (
    cost_per_million_tokens_usd,
    hosted_cost_usd,
    hosted_usd_per_million_output_tokens,
    hourly_cost_usd,
)
from benchlib.cost.profiles import KINDS, HostedApi, OwnedHardware, Profile, RentedInstance
from benchlib.cost.runs import (
    hosted_run_cost_summary,
    measured_power_w,
    price_run,
    profile_from_record,
    profile_record,
    run_cost_summary,
)
from benchlib.cost.uncertainty import CostUncertainty, Interval, cost_uncertainty, percentile_interval

__all__ = [
    "DEFAULT_PRICES_PATH",
    "KINDS",
    "SCHEMA_VERSION",
    "TOKENS_PER_MILLION",
    "BreakEven",
    "CostUncertainty",
    "DeviceCount",
    "FloatOrArray",
    "HostedApi",
    "Interval",
    "OwnedHardware",
    "PriceBook",
    "Profile",
    "RentedInstance",
    "amortization_usd_per_h",
    "average_power_w",
    "break_even",
    "break_even_utilization",
    "cost_per_million_tokens_usd",
    "cost_uncertainty",
    "edge_devices_to_match",
    "electricity_usd_per_h",
    "energy_per_token_j",
    "hosted_cost_usd",
    "hosted_run_cost_summary",
    "hosted_usd_per_million_output_tokens",
    "hourly_cost_usd",
    "load_price_profile",
    "load_prices",
    "measured_power_w",
    "owned_hourly_cost_usd",
    "percentile_interval",
    "price_run",
    "profile_from_record",
    "profile_record",
    "rented_hourly_cost_usd",
    "requests_per_day",
    "run_cost_summary",
    "token_cost_usd",
    "tokens_per_hour",
    "usd_per_million_tokens",
]
