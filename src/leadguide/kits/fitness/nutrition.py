"""Energy and protein arithmetic: Mifflin-St Jeor, activity factor, deficit, protein.

Each printed number is computed from the printed (rounded) number before it, so a reader who
redoes the sums on paper gets the guide's figures: resting 1,345 × 1.55 = 2,085 maintenance,
2,085 − 385 = 1,700 target.
"""
from __future__ import annotations

from dataclasses import dataclass

SEX_CONSTANT = {"male": 5.0, "female": -161.0}
KCAL_PER_LB = 3500          # the usual rule of thumb; it overestimates loss over time (Hall 2011)
DEFICIT_KCAL = (300, 500)   # a safe daily deficit: 300–500 kcal ...
DEFICIT_SHARE = (0.10, 0.20)  # ... or 10–20 % of maintenance, whichever is smaller
PACE_SHARE = (0.005, 0.01)  # a healthy loss: 0.5–1 % of body weight a week
EXPECTED_SHARE = 0.5        # real loss runs below the 3,500 rule (Hall 2011): expect from half
PLAN_WEEKS = 12             # of the deficit's ceiling up to the ceiling, over the 12 weeks
LB_PER_KG = 2.20462


def ceiling_lb(deficit_kcal: float, weeks: int = 1) -> float:
    """The most a daily deficit can take off in ``weeks`` by the 3,500 kcal rule, in lb."""
    return round(deficit_kcal * 7 * weeks / KCAL_PER_LB, 1)


def cap_ceiling_lb(weeks: int = PLAN_WEEKS) -> float:
    """The ceiling at the largest deficit this guide allows (500 kcal): 12 lb in 12 weeks."""
    return ceiling_lb(DEFICIT_KCAL[1], weeks)


def mifflin_st_jeor(sex: str, weight_kg: float, height_cm: float, age: float) -> float:
    """Resting energy expenditure in kcal/day (Mifflin et al. 1990)."""
    return 10 * weight_kg + 6.25 * height_cm - 5 * age + SEX_CONSTANT[sex]


def round_to(value: float, step: int) -> int:
    """Round half up to a multiple of step (2,929.5 → 2,930), as a reader would on paper."""
    return int(step * int(value / step + 0.5))


def deficit_range(maintenance_kcal: int) -> tuple[int, int]:
    """The safe daily deficit: 300–500 kcal or 10–20 % of maintenance, whichever is smaller."""
    low, high = (min(kcal, share * maintenance_kcal)
                 for kcal, share in zip(DEFICIT_KCAL, DEFICIT_SHARE))
    return round_to(low, 5), round_to(high, 5)


@dataclass(frozen=True)
class EnergyPlan:
    """One partner's computed numbers, rounded the way the guide prints them."""

    resting_kcal: int
    maintenance_kcal: int
    target_kcal: int
    deficit_kcal: int
    deficit_range_kcal: tuple[int, int]
    protein_g: int
    meals: int
    protein_per_meal_g: int
    water_l: float
    weekly_loss_lb: float               # what the deficit gives by the 3,500 kcal rule, at most
    pace_window_lb: tuple[float, float]  # 0.5–1 % of body weight a week
    protein_g_per_kg: float = 0.0       # the rule: g per kg of the basis weight
    protein_basis_kg: float = 0.0       # the weight the rule multiplies (the goal weight)

    @property
    def expected_pace_lb(self) -> tuple[float, float]:
        """The band to compare a weekly trend with: from half the deficit's ceiling up to the
        ceiling, never above the healthy 1 % of body weight a week."""
        high = min(self.weekly_loss_lb, self.pace_window_lb[1])
        return round(high * EXPECTED_SHARE, 1), high

    @property
    def plan_ceiling_lb(self) -> float:
        """The most this deficit takes off in the 12 weeks (3,500 kcal rule)."""
        return ceiling_lb(self.deficit_kcal, PLAN_WEEKS)

    @property
    def headroom_kcal(self) -> int:
        """How many more calories a day this partner may cut and stay inside the safe deficit."""
        return max(0, self.deficit_range_kcal[1] - self.deficit_kcal)

    @property
    def deficit_percent(self) -> int:
        return round(100 * self.deficit_kcal / self.maintenance_kcal)

    @property
    def deficit_in_range(self) -> bool:
        low, high = self.deficit_range_kcal
        return low <= self.deficit_kcal <= high


def energy_plan(sex: str, weight_kg: float, height_cm: float, age: float,
                activity_factor: float, deficit_kcal: int, protein_g_per_kg: float,
                protein_basis_kg: float, meals: int = 4) -> EnergyPlan:
    resting = round_to(mifflin_st_jeor(sex, weight_kg, height_cm, age), 1)
    maintenance = round_to(resting * activity_factor, 5)
    protein = round_to(protein_basis_kg * protein_g_per_kg, 5)
    weight_lb = weight_kg * LB_PER_KG
    return EnergyPlan(
        resting_kcal=resting,
        maintenance_kcal=maintenance,
        target_kcal=maintenance - deficit_kcal,
        deficit_kcal=deficit_kcal,
        deficit_range_kcal=deficit_range(maintenance),
        protein_g=protein,
        meals=meals,
        protein_per_meal_g=round_to(protein / meals, 1),
        water_l=2.5 if sex == "male" else 2.0,
        weekly_loss_lb=ceiling_lb(deficit_kcal),
        pace_window_lb=(round(weight_lb * PACE_SHARE[0], 1), round(weight_lb * PACE_SHARE[1], 1)),
        protein_g_per_kg=protein_g_per_kg,
        protein_basis_kg=protein_basis_kg,
    )
