"""Energy and protein arithmetic: Mifflin-St Jeor, activity factor, deficit, protein."""
from __future__ import annotations

from dataclasses import dataclass

SEX_CONSTANT = {"male": 5.0, "female": -161.0}


def mifflin_st_jeor(sex: str, weight_kg: float, height_cm: float, age: float) -> float:
    """Resting energy expenditure in kcal/day (Mifflin et al. 1990)."""
    return 10 * weight_kg + 6.25 * height_cm - 5 * age + SEX_CONSTANT[sex]


def round_to(value: float, step: int) -> int:
    return int(step * round(value / step))


@dataclass(frozen=True)
class EnergyPlan:
    """One partner's computed numbers, rounded the way the guide prints them."""

    resting_kcal: int
    maintenance_kcal: int
    target_kcal: int
    deficit_kcal: int
    protein_g: int
    protein_per_meal_g: tuple[int, int]
    water_l: float
    weekly_loss_lb: tuple[float, float]

    @property
    def deficit_percent(self) -> int:
        return round(100 * self.deficit_kcal / self.maintenance_kcal)


def energy_plan(sex: str, weight_kg: float, height_cm: float, age: float,
                activity_factor: float, deficit_kcal: int, protein_g_per_kg: float,
                protein_basis_kg: float, meals: int = 4) -> EnergyPlan:
    resting = mifflin_st_jeor(sex, weight_kg, height_cm, age)
    maintenance = resting * activity_factor
    protein = protein_basis_kg * protein_g_per_kg
    weight_lb = weight_kg * 2.20462
    return EnergyPlan(
        resting_kcal=round_to(resting, 5),
        maintenance_kcal=round_to(maintenance, 5),
        target_kcal=round_to(maintenance - deficit_kcal, 50),
        deficit_kcal=deficit_kcal,
        protein_g=round_to(protein, 5),
        protein_per_meal_g=(round_to(protein / meals, 5), round_to(0.4 * weight_kg, 5)),
        water_l=2.5 if sex == "male" else 2.0,
        weekly_loss_lb=(round(weight_lb * 0.005, 1), round(weight_lb * 0.01, 1)),
    )
