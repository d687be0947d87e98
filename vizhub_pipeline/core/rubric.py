"""The grading rubric: what each score from 0 to 5 means, on both scales.

One text for everyone who shows it: the grader page, the terminal grader and the dataset card.
"""

FUNCTIONALITY = (
    "Broken: nothing renders, or nothing works",
    "Serious bugs: it renders, but the core behaviour is wrong",
    "Partial: runs, but some asked-for features are missing",
    "Meets the basics: does what the prompt asks, plainly",
    "Complete: every requirement done, and done well",
    "Flawless, with thoughtful extras beyond the prompt",
)
AESTHETICS = (
    "Unusable: broken layout, unreadable",
    "Poor: cluttered, clashing or hard to read",
    "Plain: default look, works but unpolished",
    "Clean: tidy, legible and consistent",
    "Well designed: clear hierarchy, good interaction feedback",
    "Exceptional: polished, a pleasure to use",
)
