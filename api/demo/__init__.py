"""`make demo`: a realistic county loaded through the API, for a newcomer's first look.

The county, its officials and a year of its petition work are planned from a seeded random
generator (`plan`), then played through the real application in-process, in the order they
happen, under a clock that stands at each moment in turn (`loader`): every invariant, figure
and score is the API's own. It imports the app, so it stands above it in the layers.
"""
