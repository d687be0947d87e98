"""Judgements: what graders (people, and later judge models) say about generated outputs.

Each kind of judgement (absolute scores now; pairwise votes next) is declared once in its own
module (:mod:`.scores`) and named in :mod:`.registry`. A kind's declaration gives its record
and columns (:mod:`.kind`, :mod:`.columns`), and everything else derives from it: the one
reader (:mod:`.reader`, :mod:`.table`), the checks that decide whether a row may count
(:mod:`.content`), the writer (:mod:`.writer`) and where files live (:mod:`.files`).
"""
