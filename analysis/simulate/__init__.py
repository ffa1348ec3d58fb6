"""Crowd simulator: synthetic exports from a latent model with known ("planted") structure.

Ratings (Langlois design: every clip x every excerpt, ``ratings_per_pairing`` ratings each):

    fit(v, s)  = A[cluster(v), genre(s)] + scene_shift[scene(v), genre(s)]
                 + video_profile[v, genre(s)] + video_offset[v] + song_offset[s]
    A[c, g]    = B[c, genre_cluster(g)] + small noise          (planted video and genre clusters)
    rating     = clip(round(4 + bias_w + scale_w * (fit + noise)), 1, 7)

Careless workers answer uniformly at random or straight-line one value, answer fast and mostly
fail attention checks. Each repetition ("round") of the design is a random permutation of all
pairings cut into assignments, and every round is served by its own pool of workers, so no worker
ever sees a pairing twice (the platform enforces that too).

Preference test (VM-NET design): subjects answer V2M then M2V questions with G/R/S options;
P(first kind chosen) = expit(logit(p_condition) + u_subject), u_subject ~ N(0, subject_sd), so
``p_condition`` is the median subject's preference; the expected pooled share is stored too.

Plain 2AFC (Langlois' second experiment): a clip and two excerpts; P(left) =
expit(afc_sensitivity * (fit(v, left) - fit(v, right))).

Everything is drawn with numpy in bulk from one seeded generator (Langlois scale, 716,175 rating
rows, takes a few seconds). The planted truth goes into manifest.json under "simulation".

Modules by concern: ``config`` (parameters, labels, the result type), ``latent`` (the planted fit
model), ``crowd`` (order, timestamps, worker productivity, stimulus ids), ``ratings``,
``preference``, ``machine`` (the simulated model's distance file), ``twoafc`` and ``study`` (one whole
study from one generator, and the export writer), ``montage`` (a montage study of issue 16: G / S per
model / R / anti montages with planted strengths, and a model registry with planted recall).
"""

from __future__ import annotations

from analysis.simulate.config import EPOCH, GENRE_NAMES, GENRES, SCENE_NAMES, Simulation, SimulationConfig, pseudonyms
from analysis.simulate.latent import Latent, draw_latent
from analysis.simulate.machine import draw_machine_distances
from analysis.simulate.montage import MontageConfig, draw_montage_choices, simulate_montage_study, write_model_registry
from analysis.simulate.preference import draw_subject_probabilities, expected_pooled_share, simulate_preference
from analysis.simulate.ratings import simulate_ratings
from analysis.simulate.study import simulate, write_simulation
from analysis.simulate.twoafc import simulate_afc

__all__ = [
    "EPOCH",
    "GENRES",
    "GENRE_NAMES",
    "SCENE_NAMES",
    "Latent",
    "MontageConfig",
    "Simulation",
    "SimulationConfig",
    "draw_latent",
    "draw_machine_distances",
    "draw_montage_choices",
    "draw_subject_probabilities",
    "expected_pooled_share",
    "pseudonyms",
    "simulate",
    "simulate_afc",
    "simulate_montage_study",
    "simulate_preference",
    "simulate_ratings",
    "write_model_registry",
    "write_simulation",
]
