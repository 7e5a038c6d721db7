"""Draw the default guide's SVG illustrations and the built-in callout icons from pose data.

Run by hand, ``python scripts/draw_figures.py`` (standard library only), after changing a pose,
a colour or an icon here; its output is committed, and no build or test runs it. It rewrites:

* guide/images/exercises/<slug>.svg   one card illustration per exercise
* styles/icons/{quickwin,tip,caution}.svg (the built-in callout icons)
* guide/images/logo.svg, guide/images/cover-art.svg, guide/images/timeline.svg

Every figure is a side view facing right, built by :class:`Pose` from a hip
position and a torso angle plus, for each limb, either a target point (the knee
or elbow is then solved: knees bend forward, elbows back) or segment angles.

Angles are screen directions in degrees: 0 points straight down, 90 forward
(right), 180 straight up and -90 backward (left).
"""

from __future__ import annotations

import math
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Callable
from xml.sax.saxutils import escape

Point = tuple[float, float]

IMAGES = Path(__file__).resolve().parent.parent / "guide" / "images"
ICON_DIR = Path(__file__).resolve().parent.parent / "styles" / "icons"  # built-in callout icons

# Brand colours (design brief).
INK = "#1F2933"
CORAL = "#E8603C"
SAGE = "#5E8C7A"
RULE = "#D5D9DE"
NAVY = "#1B2A41"
CREAM = "#FBF6EE"
MUTED = "#5B6670"  # secondary text on the timeline


# --------------------------------------------------------------------------- geometry


def go(p: Point, deg: float, length: float) -> Point:
    """The point ``length`` away from ``p`` in direction ``deg``."""
    rad = math.radians(deg)
    return (p[0] + length * math.sin(rad), p[1] + length * math.cos(rad))


def heading(a: Point, b: Point) -> float:
    """Direction (degrees) from ``a`` to ``b``."""
    return math.degrees(math.atan2(b[0] - a[0], b[1] - a[1]))


def off(p: Point, dx: float, dy: float) -> Point:
    """``p`` shifted by (dx, dy)."""
    return (p[0] + dx, p[1] + dy)


def dist(a: Point, b: Point) -> float:
    return math.hypot(b[0] - a[0], b[1] - a[1])


def middle_joint(start: Point, end: Point, l1: float, l2: float, forward: bool) -> Point:
    """Knee/elbow of a two-segment limb; ``forward`` puts it ahead of the start-end line."""
    d = dist(start, end)
    if d > l1 + l2 + 0.5:
        raise ValueError(f"limb cannot reach: {d:.1f} > {l1 + l2:.1f}")
    d = min(max(d, 1e-6), l1 + l2)
    along = (l1 * l1 - l2 * l2 + d * d) / (2 * d)
    side = math.sqrt(max(l1 * l1 - along * along, 0.0))
    ux, uy = (end[0] - start[0]) / d, (end[1] - start[1]) / d
    nx, ny = (uy, -ux) if forward else (-uy, ux)
    return (start[0] + ux * along + nx * side, start[1] + uy * along + ny * side)


def fmt(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def pts(points: list[Point]) -> str:
    return " ".join(f"{fmt(x)},{fmt(y)}" for x, y in points)


# --------------------------------------------------------------------------- style


@dataclass(frozen=True)
class Style:
    body: str = INK
    accent: str = CORAL
    prop: str = SAGE
    floor: str = RULE
    far_opacity: float = 0.4  # limbs on the far side of the body
    body_w: float = 6.0
    prop_w: float = 3.5

    def ground(self, surface_y: float) -> float:
        """y of a body line resting on a prop or floor edge drawn at ``surface_y``."""
        return surface_y - (self.body_w + self.prop_w) / 2


CARD_STYLE = Style()
COVER_STYLE = Style(body=CREAM, floor=SAGE, far_opacity=0.55, body_w=11, prop_w=6)
ARROW_W = 4.0  # movement arrows on the cards


def stroke(colour: str, width: float, opacity: float = 1.0, fill: str = 'fill="none"') -> str:
    """Attributes of a round-capped, round-joined line."""
    fade = f' stroke-opacity="{opacity}"' if opacity < 1 else ""
    return (
        f'{fill} stroke="{colour}" stroke-width="{fmt(width)}" '
        f'stroke-linecap="round" stroke-linejoin="round"{fade}'
    )


def tint(colour: str, opacity: float = 0.15) -> str:
    """A pale fill for outlined shapes."""
    return f'fill="{colour}" fill-opacity="{opacity}"'


def polyline(points: list[Point], colour: str, width: float, opacity: float = 1.0) -> str:
    return f'<polyline points="{pts(points)}" {stroke(colour, width, opacity)}/>'


def dot(c: Point, r: float, colour: str, opacity: float = 1.0) -> str:
    fade = f' fill-opacity="{opacity}"' if opacity < 1 else ""
    return f'<circle cx="{fmt(c[0])}" cy="{fmt(c[1])}" r="{fmt(r)}" fill="{colour}"{fade}/>'


# --------------------------------------------------------------------------- the figure


@dataclass(frozen=True)
class Body:
    """Segment lengths of a ~165-unit-tall adult (standard anthropometric ratios)."""

    head_r: float = 11.0
    neck: float = 7.0
    torso: float = 50.0  # hip joint to shoulder joint
    thigh: float = 42.0
    shin: float = 45.0  # knee to the sole line (ankle height folded in)
    foot: float = 21.0  # ankle to toe tip
    heel: float = 3.0
    upper_arm: float = 30.0
    forearm: float = 27.0  # elbow to the middle of the hand

    def scaled(self, k: float) -> Body:
        return Body(*(v * k for v in astuple(self)))


BODY = Body()


def toe_down(toe: Point, foot: float, body: Body = BODY) -> Point:
    """Ankle of a foot pointing ``foot`` whose toe tip rests on ``toe``."""
    return go(toe, foot + 180, body.foot)


def hip_over(ankle: Point, shin: float, thigh: float, body: Body = BODY) -> Point:
    """Hip reached from a planted ``ankle`` up the shin (``shin``) then along the thigh (``thigh``)."""
    return go(go(ankle, shin, body.shin), thigh, body.thigh)


@dataclass
class Limb:
    joints: list[Point]  # root, middle joint, end[, toe tip]
    heel: Point | None = None
    accent: bool = False


@dataclass
class Pose:
    """A side-view line figure facing right, built limb by limb (far limbs first)."""

    hip: Point
    torso: float = 180.0  # hip -> shoulder direction
    neck: float | None = None  # shoulder -> head direction (default: along the torso)
    bulge: float = 0.0  # rounds the back into a curve (Jefferson curl)
    body: Body = BODY
    accent_spine: bool = False
    ponytail: bool = False
    legs: list[Limb] = field(default_factory=list)  # [far, near]
    arms: list[Limb] = field(default_factory=list)  # [far, near]

    @property
    def shoulder(self) -> Point:
        chord = self.body.torso * (1 - (self.bulge / self.body.torso) ** 2)
        return go(self.hip, self.torso, chord)

    @property
    def head(self) -> Point:
        return go(self.shoulder, self._neck_dir, self.body.neck + self.body.head_r)

    @property
    def _neck_dir(self) -> float:
        return self.torso if self.neck is None else self.neck

    def knee(self, near: bool = True) -> Point:
        return self.legs[-1 if near else 0].joints[1]

    def hand(self, near: bool = True) -> Point:
        return self.arms[-1 if near else 0].joints[2]

    def heel(self, near: bool = True) -> Point:
        heel = self.legs[-1 if near else 0].heel
        assert heel is not None
        return heel

    def leg(self, ankle: Point, foot: float = 90, accent: bool = False) -> Pose:
        """Leg planted at ``ankle`` (the knee is solved); ``foot`` is the ankle-to-toe direction."""
        b = self.body
        knee = middle_joint(self.hip, ankle, b.thigh, b.shin, forward=True)
        return self._add_leg(knee, ankle, foot, accent)

    def leg_angles(self, thigh: float, shin: float, foot: float = 90, accent: bool = False) -> Pose:
        knee = go(self.hip, thigh, self.body.thigh)
        return self._add_leg(knee, go(knee, shin, self.body.shin), foot, accent)

    def _add_leg(self, knee: Point, ankle: Point, foot: float, accent: bool) -> Pose:
        toe = go(ankle, foot, self.body.foot)
        heel = go(ankle, foot + 180, self.body.heel)
        self.legs.append(Limb([self.hip, knee, ankle, toe], heel, accent))
        return self

    def arm(self, hand: Point, accent: bool = False, elbow_forward: bool = False) -> Pose:
        """Arm reaching for ``hand`` (straight towards it when out of reach); the elbow is solved."""
        b, sh = self.body, self.shoulder
        reach = b.upper_arm + b.forearm - 0.5
        if dist(sh, hand) > reach:
            hand = go(sh, heading(sh, hand), reach)
        elbow = middle_joint(sh, hand, b.upper_arm, b.forearm, forward=elbow_forward)
        self.arms.append(Limb([sh, elbow, hand], None, accent))
        return self

    def arm_angles(self, upper: float, fore: float, accent: bool = False) -> Pose:
        elbow = go(self.shoulder, upper, self.body.upper_arm)
        self.arms.append(Limb([self.shoulder, elbow, go(elbow, fore, self.body.forearm)], None, accent))
        return self

    def svg(self, style: Style = CARD_STYLE) -> str:
        far = [_limb(limb, style, style.far_opacity) for limb in (self.arms[:1] + self.legs[:1])]
        near = [_limb(limb, style, 1.0) for limb in (self.legs[1:] + self.arms[1:])]
        return "\n".join(far + [self._trunk(style)] + near)

    def _trunk(self, style: Style) -> str:
        hip, sh, w = self.hip, self.shoulder, style.body_w
        colour = style.accent if self.accent_spine else style.body
        neck_end = go(self.head, self._neck_dir + 180, self.body.head_r)
        parts = [polyline([sh, neck_end], style.body, w)]
        if self.bulge:
            mid = ((hip[0] + sh[0]) / 2, (hip[1] + sh[1]) / 2)
            c = go(mid, self.torso + 90, 2 * self.bulge)  # towards the back
            d = f"M{pts([hip])} Q{pts([c])} {pts([sh])}"
            parts.append(f'<path d="{d}" {stroke(colour, w)}/>')
        else:
            parts.append(polyline([hip, sh], colour, w))
        if self.ponytail:
            r = self.body.head_r
            root = go(self.head, self._neck_dir + 60, r * 0.9)
            tip = go(root, self._neck_dir + 150, r * 1.2)
            parts.append(polyline([root, tip], style.body, w * 0.8))
        parts.append(dot(self.head, self.body.head_r, style.body))
        return "\n".join(parts)


def _limb(limb: Limb, style: Style, opacity: float) -> str:
    colour = style.accent if limb.accent else style.body
    w = style.body_w
    parts = [polyline(limb.joints, colour, w, opacity)]
    if limb.heel is not None:
        parts.append(polyline([limb.joints[2], limb.heel], colour, w, opacity))
    parts.append(dot(limb.joints[1], w * 0.62, colour, opacity))  # round knee / elbow
    return "<g>" + "".join(parts) + "</g>"


# --------------------------------------------------------------------------- props and arrows

CARD = 240.0
FLOOR = 214.0
G = CARD_STYLE.ground(FLOOR)  # where feet and knees touch the floor line


def prop_attrs(style: Style = CARD_STYLE) -> str:
    """Props are outlined in sage with a pale sage fill."""
    outline = f'stroke="{style.prop}" stroke-width="{fmt(style.prop_w)}" stroke-linejoin="round"'
    return f"{tint(style.prop, 0.14)} {outline}"


def floor_line(x1: float = 12, x2: float = CARD - 12, y: float = FLOOR, style: Style = CARD_STYLE) -> str:
    return polyline([(x1, y), (x2, y)], style.floor, style.prop_w)


def box(x: float, width: float, height: float, base: float = FLOOR, style: Style = CARD_STYLE) -> str:
    """A step or plyo box standing on ``base``; its top edge is at ``base - height``."""
    return (
        f'<rect x="{fmt(x)}" y="{fmt(base - height)}" width="{fmt(width)}" '
        f'height="{fmt(height)}" rx="3" {prop_attrs(style)}/>'
    )


@dataclass(frozen=True)
class Slant:
    """A slant board: ``high`` units tall at ``x_high`` sloping down to ``low`` at ``x_low``."""

    x_high: float
    x_low: float
    high: float
    low: float = 0.0
    base: float = FLOOR

    def top(self, x: float) -> float:
        t = (x - self.x_high) / (self.x_low - self.x_high)
        return self.base - (self.high + (self.low - self.high) * t)

    @property
    def foot(self) -> float:
        """Direction of a foot lying on the board, toes downhill."""
        return 90 - math.degrees(math.atan2(self.high - self.low, abs(self.x_low - self.x_high)))

    def svg(self, style: Style = CARD_STYLE) -> str:
        shape = [
            (self.x_high, self.base),
            (self.x_high, self.base - self.high),
            (self.x_low, self.base - self.low),
            (self.x_low, self.base),
        ]
        return f'<polygon points="{pts(shape)}" {prop_attrs(style)}/>'


def wall(x: float, top: float = 24) -> str:
    """A wall whose face is the vertical line at ``x`` (the wall lies to its left)."""
    fill = f'<rect x="{fmt(x - 14)}" y="{fmt(top)}" width="14" height="{fmt(FLOOR - top)}" '
    fill += f'{tint(SAGE, 0.14)}/>'
    return fill + polyline([(x, top), (x, FLOOR)], SAGE, CARD_STYLE.prop_w)


def pad(x: float, width: float, height: float = 7) -> str:
    """A foam pad on the floor."""
    return (
        f'<rect x="{fmt(x)}" y="{fmt(FLOOR - height)}" width="{fmt(width)}" height="{fmt(height)}" '
        f'rx="{fmt(height / 2)}" {prop_attrs()}/>'
    )


def dumbbell(centre: Point, length: float = 24) -> str:
    """A dumbbell, bar horizontal, with solid plates (it is held in front of everything)."""
    x, y = centre
    plates = "".join(
        f'<rect x="{fmt(px - 3.5)}" y="{fmt(y - 8)}" width="7" height="16" rx="2.5" fill="{SAGE}"/>'
        for px in (x - length / 2 + 3.5, x + length / 2 - 3.5)
    )
    return polyline([(x - length / 2, y), (x + length / 2, y)], SAGE, CARD_STYLE.prop_w) + plates


def kettlebell(grip: Point, scale: float = 1.0, style: Style = CARD_STYLE) -> str:
    """A kettlebell held by its handle at ``grip`` (top of the handle)."""
    x, y = grip
    s = scale
    handle = (
        f'<path d="M{fmt(x - 6 * s)},{fmt(y + 12 * s)} V{fmt(y + 5 * s)} Q{fmt(x - 6 * s)},{fmt(y)} '
        f'{fmt(x)},{fmt(y)} Q{fmt(x + 6 * s)},{fmt(y)} {fmt(x + 6 * s)},{fmt(y + 5 * s)} '
        f'V{fmt(y + 12 * s)}" {stroke(style.prop, style.prop_w)}/>'
    )
    return handle + dot((x, y + 19 * s), 10 * s, style.prop)


def sled(x: float, hook: Point, hand: Point) -> list[str]:
    """A push/drag sled at ``x`` with a strap from ``hand`` to its ``hook``."""
    w = CARD_STYLE.prop_w
    return [
        polyline([(x, FLOOR - 4), (x + 54, FLOOR - 4), (x + 62, FLOOR - 14)], SAGE, w),
        box(x + 8, 44, 10, base=FLOOR - 6),
        box(x + 12, 36, 8, base=FLOOR - 16),
        polyline([(x + 30, FLOOR - 24), (x + 30, FLOOR - 42)], SAGE, w),
        polyline([hand, hook], SAGE, 2.5),
    ]


def _arrow_head(tip: Point, direction: float, colour: str, width: float) -> str:
    size = width * 2.4
    wings = [go(tip, direction + 180 - 36, size), tip, go(tip, direction + 180 + 36, size)]
    return polyline(wings, colour, width)


def arrow(start: Point, end: Point, bow: float = 0.0, colour: str = CORAL, width: float = ARROW_W) -> str:
    """A movement arrow from ``start`` to ``end``, bowed sideways by ``bow`` (to its left if > 0)."""
    mid = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
    ctrl = go(mid, heading(start, end) + 90, bow)
    d = f"M{pts([start])} Q{pts([ctrl])} {pts([end])}"
    return f'<path d="{d}" {stroke(colour, width)}/>' + _arrow_head(end, heading(ctrl, end), colour, width)


def arc_arrow(
    pivot: Point, radius: float, start: float, end: float, colour: str = CORAL, width: float = ARROW_W
) -> str:
    """A movement arrow around a ``pivot`` (e.g. the knees) from angle ``start`` to ``end``."""
    path = [go(pivot, start + (end - start) * i / 16, radius) for i in range(17)]
    return polyline(path, colour, width) + _arrow_head(path[-1], heading(path[-2], path[-1]), colour, width)


# --------------------------------------------------------------------------- exercise cards


@dataclass
class Card:
    title: str  # the SVG <title>: a short description of the picture
    parts: list[str]  # SVG elements, back to front


def backward_walk() -> Card:
    pose = Pose(hip=(92, G - 74), torso=190)
    pose.leg((100, G))  # stance leg, knee forward over the toes
    pose.leg(toe_down((50, G), 50), 50, accent=True)  # reaching back onto the toes
    pose.arm((150, G - 40))
    pose.arm((152, G - 38))
    return Card(
        "Backward sled drag: facing the sled, stepping backwards onto the toes",
        [floor_line(), *sled(168, (172, FLOOR - 12), pose.hand()), pose.svg(), arrow((48, 100), (14, 100))],
    )


def tibialis_raise() -> Card:
    body, wall_x = BODY.scaled(1.05), 44.0
    ankle = (wall_x + 38, G)  # heels about a foot from the wall
    lift = 90 + 32  # toes up
    pose = Pose(hip=(wall_x + 8, G - 84), torso=180, neck=178, body=body)
    pose.leg(off(ankle, -3, 0), lift)
    pose.leg(ankle, lift, accent=True)
    pose.arm(off(pose.hip, 10, 24))
    pose.arm(off(pose.hip, 12, 26))
    toe = go(ankle, lift, body.foot)
    return Card(
        "Tibialis raise: back against a wall, heels down, toes lifted",
        [wall(wall_x), floor_line(wall_x), pose.svg(), arrow(off(toe, 13, 6), off(toe, 13, -24))],
    )


def patrick_step() -> Card:
    body, step = BODY.scaled(1.1), 22.0
    ankle = (90.0, CARD_STYLE.ground(FLOOR - step))
    pose = Pose(hip=hip_over(ankle, 180 - 46, -114, body), torso=164, body=body)
    pose.leg((pose.hip[0] + 50, G), 112)  # free leg: heel taps the floor in front
    pose.leg(ankle, accent=True)  # working leg on the step
    pose.arm(off(pose.shoulder, 50, 8))
    pose.arm(off(pose.shoulder, 52, 10))
    knee = pose.knee()
    return Card(
        "Patrick step: on one leg on a low step, the knee travels past the toes "
        "as the other heel lowers to the floor",
        [floor_line(), box(34, 84, step), pose.svg(), arrow(off(knee, 8, -18), off(knee, 30, 2), 8)],
    )


def poliquin_step_up() -> Card:
    step = 30.0
    board = Slant(x_high=110, x_low=150, high=12, base=FLOOR - step)
    ankle = (118.0, CARD_STYLE.ground(board.top(118)))
    pose = Pose(hip=hip_over(ankle, 180 - 42, -100), torso=166)
    pose.leg(toe_down((74, G), 40), 40)  # trailing foot still on the floor
    pose.leg(ankle, board.foot, accent=True)
    pose.arm(off(pose.shoulder, 40, 20))
    pose.arm(off(pose.shoulder, 42, 22))
    knee = pose.knee()
    return Card(
        "Poliquin step-up: heel raised on a slant on a low step, knee driving far past the toes",
        [
            floor_line(),
            box(100, 96, step),
            board.svg(),
            pose.svg(),
            arrow(off(knee, 26, 4), off(knee, 26, -36)),
        ],
    )


def split_squat() -> Card:
    body, step = BODY.scaled(1.2), 12.0
    front = (136.0, CARD_STYLE.ground(FLOOR - step))
    pose = Pose(hip=hip_over(front, 180 - 46, -104, body), torso=176, body=body)
    pose.leg(toe_down((pose.hip[0] - 44, G), 28, body), 28)  # back knee hovers over the floor
    pose.leg(front, accent=True)
    pose.arm(off(pose.shoulder, 4, 70))
    pose.arm(off(pose.shoulder, 6, 70))
    knee = pose.knee()
    return Card(
        "Split squat: front knee well past the toes, back knee just above the floor",
        [floor_line(), box(120, 60, step), pose.svg(), arrow(off(knee, 4, -26), off(knee, 26, -6), 8)],
    )


def slant_board_squat() -> Card:
    body = BODY.scaled(1.2)
    board = Slant(x_high=58, x_low=160, high=26, low=4)
    ankle = (96.0, CARD_STYLE.ground(board.top(96)))
    pose = Pose(hip=hip_over(ankle, 180 - 46, -72, body), torso=164, body=body)
    pose.leg(off(ankle, -4, -1), board.foot)
    pose.leg(ankle, board.foot, accent=True)
    grip = go(pose.shoulder, 70, 20)
    pose.arm(grip)
    pose.arm(off(grip, 1, 1))
    return Card(
        "Heels-elevated goblet squat on a slant board, kettlebell at the chest, knees far forward",
        [floor_line(), board.svg(), pose.svg(), kettlebell(off(grip, 2, -3)), arrow((36, 90), (36, 130))],
    )


def reverse_nordic() -> Card:
    body, lean = BODY.scaled(1.15), 34.0
    knee = (156.0, CARD_STYLE.ground(FLOOR - 7))
    pose = Pose(hip=go(knee, 180 + lean, body.thigh), torso=180 + lean, body=body)
    pose.leg_angles(lean, -90, -90)
    pose.leg_angles(lean, -90, -90, accent=True)
    pose.arm_angles(96, 96)
    pose.arm_angles(92, 92)
    return Card(
        "Reverse Nordic: kneeling, body in one straight line from the knees, leaning back",
        [floor_line(), pad(70, 108), pose.svg(), arc_arrow(knee, 138, 180 + 12, 180 + 32)],
    )


def nordic_curl() -> Card:
    body, lean = BODY.scaled(1.05), 50.0
    knee = (94.0, CARD_STYLE.ground(FLOOR - 7))
    pose = Pose(hip=go(knee, 180 - lean, body.thigh), torso=180 - lean, neck=180 - lean + 6, body=body)
    pose.leg_angles(-lean, -90, -90)
    pose.leg_angles(-lean, -90, -90, accent=True)
    sh = pose.shoulder
    pose.arm(off(sh, 20, 26))  # hands ready to catch
    pose.arm(off(sh, 22, 28))
    ankle = pose.legs[1].joints[2]
    bar_y = ankle[1] - 12
    anchor = [
        polyline([(18, FLOOR), (18, bar_y), (ankle[0] + 4, bar_y)], SAGE, CARD_STYLE.prop_w),
        dot((ankle[0] + 4, bar_y + 1), 6, SAGE),
    ]
    return Card(
        "Nordic curl: ankles anchored, the body lowers forward in a straight line from the knees",
        [floor_line(), pad(12, 100), *anchor, pose.svg(), arc_arrow(knee, 132, 196 - lean, 174 - lean)],
    )


def jefferson_curl() -> Card:
    body, step = BODY.scaled(1.1), 30.0
    ankle = (80.0, CARD_STYLE.ground(FLOOR - step))
    hip = off(ankle, -12, -95)  # legs straight, hips shifted back
    pose = Pose(hip=hip, torso=56, neck=-12, bulge=12, body=body, accent_spine=True)
    pose.leg(off(ankle, -3, 0))
    pose.leg(ankle)
    sh = pose.shoulder
    pose.arm(off(sh, 9, 62))
    pose.arm(off(sh, 7, 62))
    hand = pose.hand()
    return Card(
        "Jefferson curl: standing on a low box, rolling the spine down one segment at a time "
        "with a light dumbbell",
        [
            floor_line(),
            box(ankle[0] - 44, 44 + body.foot + 1, step),
            pose.svg(),
            dumbbell((hand[0], hand[1] + 2)),
            arc_arrow(pose.hip, 68, 150, 76),
        ],
    )


def elephant_walk() -> Card:
    body = BODY.scaled(1.25)
    hip = (84.0, G - 86 * 1.25)
    pose = Pose(hip=hip, torso=42, neck=8, body=body)
    pose.leg((hip[0] - 4, G))
    lift = 74  # heel raised, knee softly bent
    pose.leg(toe_down((hip[0] + 16, G), lift, body), lift, accent=True)
    pose.arm((pose.shoulder[0] + 30, G))
    pose.arm((pose.shoulder[0] + 34, G))
    heel = pose.heel()
    return Card(
        "Elephant walk: bent forward with hands on the floor, legs nearly straight, "
        "lifting one heel at a time",
        [floor_line(), pose.svg(), arrow(off(heel, -16, 8), off(heel, -16, -24))],
    )


def couch_stretch() -> Card:
    body, wall_x, thigh_lean = BODY.scaled(1.15), 40.0, 20.0
    knee = (wall_x + 9, CARD_STYLE.ground(FLOOR - 7))
    pose = Pose(hip=go(knee, 180 - thigh_lean, body.thigh), torso=182, body=body)
    pose.leg((pose.hip[0] + 54, G))  # front foot flat: half-kneeling
    pose.leg_angles(-thigh_lean, 180, 180, accent=True)  # shin and foot up the wall
    hip = pose.hip
    pose.arm(off(hip, 32, -2))
    pose.arm(off(hip, 34, 0))
    return Card(
        "Couch stretch: back knee in the corner with the shin up the wall, front foot forward, torso upright",
        [
            wall(wall_x),
            floor_line(wall_x),
            pad(wall_x, 34),
            pose.svg(),
            arrow(off(hip, 6, 26), off(hip, 32, 26)),  # hips forward
        ],
    )


def calf_raise() -> Card:
    step, foot = 20.0, 46.0
    ankle = toe_down((108, CARD_STYLE.ground(FLOOR - step)), foot)
    pose = Pose(hip=off(ankle, 1, -86.5))
    pose.leg(off(ankle, -3, 0), foot)
    pose.leg(ankle, foot, accent=True)
    pose.arm(off(pose.hip, 4, 26))
    pose.arm(off(pose.hip, 6, 28))
    return Card(
        "Calf raise: on the balls of the feet on a step edge, heels raised",
        [floor_line(), box(100, 90, step), pose.svg(), arrow(off(ankle, -20, 18), off(ankle, -20, -16))],
    )


EXERCISES: dict[str, Callable[[], Card]] = {
    "backward-walk": backward_walk,
    "tibialis-raise": tibialis_raise,
    "patrick-step": patrick_step,
    "poliquin-step-up": poliquin_step_up,
    "split-squat": split_squat,
    "slant-board-squat": slant_board_squat,
    "reverse-nordic": reverse_nordic,
    "nordic-curl": nordic_curl,
    "jefferson-curl": jefferson_curl,
    "elephant-walk": elephant_walk,
    "couch-stretch": couch_stretch,
    "calf-raise": calf_raise,
}


# --------------------------------------------------------------------------- callout icons

ICON = 48.0
ICON_W = 3.5


def icon_quickwin() -> list[str]:
    bolt = [(27, 5), (12, 27), (23, 27), (20, 43), (36, 20), (25, 20), (27, 5)]
    return [f'<polygon points="{pts(bolt)}" {stroke(CORAL, ICON_W, fill=tint(CORAL))}/>']


def icon_tip() -> list[str]:
    bulb = "M18.5,31 A11,11 0 1 1 29.5,31 L29,35 H19 Z"
    centre = (24, 21.5)
    rays = [polyline([go(centre, a, 14.5), go(centre, a, 18)], CORAL, ICON_W) for a in (125, 180, 235)]
    return [
        f'<path d="{bulb}" {stroke(INK, ICON_W)}/>',
        polyline([(19.5, 40), (28.5, 40)], INK, ICON_W),
        polyline([(21.5, 44.5), (26.5, 44.5)], INK, ICON_W),
        *rays,
    ]


def icon_caution() -> list[str]:
    triangle = [(24, 6), (43, 40), (5, 40), (24, 6)]
    return [
        f'<polygon points="{pts(triangle)}" {stroke(CORAL, ICON_W, fill=tint(CORAL))}/>',
        polyline([(24, 17), (24, 28)], INK, ICON_W + 0.5),
        dot((24, 34), 2.4, INK),
    ]


ICONS: dict[str, tuple[str, Callable[[], list[str]]]] = {
    "quickwin": ("Quick win: a lightning bolt", icon_quickwin),
    "tip": ("Tip: a light bulb", icon_tip),
    "caution": ("Caution: a warning triangle", icon_caution),
}


# --------------------------------------------------------------------------- logo


def logo() -> list[str]:
    """An "IO" monogram on a navy disc: the I is a figure (head and body), the O a weight plate."""
    return [
        dot((50, 50), 50, NAVY),
        f'<circle cx="59" cy="55" r="19" {stroke(CORAL, 10)}/>',
        polyline([(27, 44), (27, 73)], CREAM, 12),
        dot((27, 27), 7.5, CREAM),
    ]


# --------------------------------------------------------------------------- cover art

COVER = (550.0, 450.0)
COVER_FLOOR = 404.0


def cover_art() -> list[str]:
    """Her in a deep split squat (left), him in a goblet squat on a slant board facing her."""
    st, body = COVER_STYLE, BODY.scaled(2.75)
    g = st.ground(COVER_FLOOR)
    front = (214.0, g)
    her = Pose(hip=hip_over(front, 180 - 44, -102, body), torso=178, body=body, ponytail=True)
    her.leg(toe_down((her.hip[0] - 99, g), 28, body), 28)
    her.leg(front, accent=True)
    her.arm(off(her.hip, 14, -4))  # hands on hips
    her.arm(off(her.hip, 18, -2))

    # Drawn facing right at the left edge, then mirrored to face her.
    board = Slant(x_high=40, x_low=170, high=38, low=6, base=COVER_FLOOR)
    ankle = (84.0, st.ground(board.top(84)))
    him = Pose(hip=hip_over(ankle, 180 - 44, -74, body), torso=162, body=body)
    him.leg(off(ankle, -8, -2), board.foot)
    him.leg(ankle, board.foot, accent=True)
    grip = go(him.shoulder, 62, 42)
    him.arm(grip)
    him.arm(off(grip, 3, 3))
    his_side = [board.svg(st), him.svg(st), kettlebell(off(grip, 4, -8), 2.2, st)]
    return [
        dot((190, 228), 156, SAGE, 0.4),
        polyline([go((404, 222), a, 124) for a in range(235, 94, -5)], CORAL, 24),
        polyline([(28, COVER_FLOOR), (522, COVER_FLOOR)], CREAM, st.prop_w, 0.45),
        her.svg(st),
        f'<g transform="translate({fmt(COVER[0])} 0) scale(-1 1)">' + "\n".join(his_side) + "</g>",
    ]


# --------------------------------------------------------------------------- timeline

TIMELINE = (640.0, 150.0)


@dataclass(frozen=True)
class Phase:
    when: str
    name: str
    x: float  # where the phase starts
    colour: str
    opacity: float = 1.0


PHASES = [
    Phase("WEEKS 1–4", "Learn", 24, SAGE, 0.45),
    Phase("WEEKS 5–8", "Build", 160, SAGE),
    Phase("WEEKS 9–11", "Push", 296, CORAL),
    Phase("WEEK 12", "Deload &\nretest", 404, CORAL, 0.45),
    Phase("MONTHS 4–12", "Keep building", 512, INK),
]
TRACK_Y = 72.0
TRACK_END = 618.0


def text(x: float, y: float, lines: str, size: float, weight: int, colour: str, spacing: float = 0) -> str:
    attrs = (
        f'font-family="Inter" font-size="{fmt(size)}" font-weight="{weight}" fill="{colour}"'
        + (f' letter-spacing="{fmt(spacing)}"' if spacing else "")
    )
    spans = "".join(
        f'<tspan x="{fmt(x)}" y="{fmt(y + i * size * 1.2)}">{escape(line)}</tspan>'
        for i, line in enumerate(lines.split("\n"))
    )
    return f"<text {attrs}>{spans}</text>"


def timeline() -> list[str]:
    parts: list[str] = []
    for phase, nxt in zip(PHASES, PHASES[1:]):
        parts.append(polyline([(phase.x, TRACK_Y), (nxt.x, TRACK_Y)], phase.colour, 12, phase.opacity))
    last = PHASES[-1]
    parts.append(
        f'<polyline points="{pts([(last.x, TRACK_Y), (TRACK_END, TRACK_Y)])}" {stroke(INK, 4)} '
        'stroke-dasharray="1 10"/>'
    )
    parts.append(_arrow_head((TRACK_END + 4, TRACK_Y), 90, INK, 4))
    for phase in PHASES:
        parts.append(
            f'<circle cx="{fmt(phase.x)}" cy="{fmt(TRACK_Y)}" r="9" fill="#FFFFFF" '
            f'stroke="{phase.colour}" stroke-width="4"/>'
        )
        parts.append(text(phase.x - 6, TRACK_Y - 26, phase.when, 13, 600, MUTED, 0.6))
        parts.append(text(phase.x - 6, TRACK_Y + 40, phase.name, 19, 700, INK))
    return parts


# --------------------------------------------------------------------------- output


def svg_doc(name: str, title: str, body: list[str], size: Point, view: Point | None = None) -> str:
    """A standalone SVG: explicit width/height, a viewBox, role="img" and a <title>."""
    view = view or size
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{fmt(size[0])}" height="{fmt(size[1])}" '
        f'viewBox="0 0 {fmt(view[0])} {fmt(view[1])}" role="img" aria-labelledby="{name}-title">\n'
        f'<title id="{name}-title">{escape(title)}</title>\n' + "\n".join(body) + "\n</svg>\n"
    )


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path.relative_to(IMAGES.parent.parent)}")


def main() -> None:
    for slug, build in EXERCISES.items():
        card = build()
        write(IMAGES / "exercises" / f"{slug}.svg", svg_doc(slug, card.title, card.parts, (CARD, CARD)))
    for name, (title, draw) in ICONS.items():
        write(ICON_DIR / f"{name}.svg", svg_doc(f"icon-{name}", title, draw(), (ICON, ICON)))
    logo_title = "Inside Out Strength logo: an IO monogram"
    write(IMAGES / "logo.svg", svg_doc("logo", logo_title, logo(), (100, 100)))
    cover_title = "A couple training together: a deep split squat and a heels-elevated goblet squat"
    write(IMAGES / "cover-art.svg", svg_doc("cover-art", cover_title, cover_art(), (528, 432), COVER))
    timeline_title = (
        "Program timeline: weeks 1–4 learn, weeks 5–8 build, weeks 9–11 push, "
        "week 12 deload and retest, then months 4–12 keep building"
    )
    write(IMAGES / "timeline.svg", svg_doc("timeline", timeline_title, timeline(), TIMELINE))


if __name__ == "__main__":
    main()
