"""Hand labelling by eye: plan which faces to label, render numbered contact sheets, merge and measure.

``python -m training.labelling plan``    choose the faces (random + model-pointed) → ``training/labels/plan.csv``
``python -m training.labelling render``  draw the numbered sheets of the plan into a folder (PNG)
``python -m training.labelling merge``   join ``training/labels/raw/*.csv`` with the plan → ``faces.csv``
``python -m training.labelling agree``   blind re-label agreement (exact / within-one tone, Cohen's κ)

The definitions every label follows are in ``../shared/notes/labelling.md``; the protocol and the counts are
in ``training/labels/README.md``.
"""
