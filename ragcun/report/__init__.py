"""The comparison report: one table of NDCG@10 and isotropy per architecture, with paired significance tests.

One concern per module (this marker holds no code, so that importing one module does not import the rest):
``table`` builds the comparison table and the headline numbers, ``statistics`` the paired tests and their
correction, ``cells`` how one cell reads (precision, best row, spread, dagger), ``markdown`` and ``latex`` the two
renderings, and ``write`` the stage's outputs together (``write_report``). The figures are in ``ragcun.figures``.
"""
