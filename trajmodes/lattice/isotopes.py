"""Natural isotopic compositions of the elements and the mass variance g2 that isotope scattering of phonons
needs.

``ISOTOPES[symbol]`` is a tuple of (relative atomic mass of the isotope in amu, mole fraction) for every
isotope present in the element's representative natural composition, lightest first; the fractions sum to
one. Tabulated are the 84 elements with a natural composition in the source: Z = 1-83 without Tc and Pm, and
Th, Pa and U.

Source: NIST Standard Reference Database 144, "Atomic Weights and Isotopic Compositions with Relative Atomic
Masses" (J. S. Coursey, D. J. Schwab, J. J. Tsai and R. A. Dragoset, NIST Physical Measurement Laboratory,
https://www.nist.gov/pml/atomic-weights-and-isotopic-compositions-relative-atomic-masses): its compositions are
IUPAC's representative isotopic compositions (M. Berglund and M. E. Wieser, "Isotopic compositions of the
elements 2009 (IUPAC Technical Report)", Pure Appl. Chem. 83, 397 (2011)), its isotope masses those of the
Atomic Mass Evaluation. The table was generated once from the transcription of that database shipped in the
``molmass`` package (version 2026.1.8; used only to write this file, not a dependency): for each element the
isotopes with a non-zero composition, the numbers as printed there. phonopy's own table (IUPAC 2000
compositions) gives the same g2 to 1e-3 for all but Ar, Zn, Mo, La, Nd, Yb, Lu, Pt (up to 1.3 % apart).

The mass variance of a site (Tamura, Phys. Rev. B 27, 858 (1983); the ``mass_variances`` of phono3py) is
g2 = sum_i f_i (1 - m_i / mbar)^2, with mbar = sum_i f_i m_i the mean mass: dimensionless, e.g. 2.0e-4 for
natural Si, 7.4e-5 for C.
"""
from __future__ import annotations

import numpy as np

__all__ = ["ISOTOPES", "mass_variance", "mass_variances"]

#: symbol -> ((mass amu, mole fraction), ...) of the natural isotopes (NIST SRD 144; see the module docstring)
ISOTOPES: dict[str, tuple[tuple[float, float], ...]] = {
    # 1 Hydrogen
    "H": ((1.00782503223, 0.999885), (2.01410177812, 0.000115)),
    # 2 Helium
    "He": ((3.0160293201, 1.34e-06), (4.00260325413, 0.99999866)),
    # 3 Lithium
    "Li": ((6.0151228874, 0.0759), (7.0160034366, 0.9241)),
    # 4 Beryllium
    "Be": ((9.012183065, 1.0),),
    # 5 Boron
    "B": ((10.01293695, 0.199), (11.00930536, 0.801)),
    # 6 Carbon
    "C": ((12.0, 0.9893), (13.00335483507, 0.0107)),
    # 7 Nitrogen
    "N": ((14.00307400443, 0.99636), (15.00010889888, 0.00364)),
    # 8 Oxygen
    "O": ((15.99491461957, 0.99757), (16.9991317565, 0.00038), (17.99915961286, 0.00205)),
    # 9 Fluorine
    "F": ((18.99840316273, 1.0),),
    # 10 Neon
    "Ne": ((19.9924401762, 0.9048), (20.993846685, 0.0027), (21.991385114, 0.0925)),
    # 11 Sodium
    "Na": ((22.989769282, 1.0),),
    # 12 Magnesium
    "Mg": ((23.985041697, 0.7899), (24.985836976, 0.1), (25.982592968, 0.1101)),
    # 13 Aluminium
    "Al": ((26.98153853, 1.0),),
    # 14 Silicon
    "Si": ((27.97692653465, 0.92223), (28.9764946649, 0.04685), (29.973770136, 0.03092)),
    # 15 Phosphorus
    "P": ((30.97376199842, 1.0),),
    # 16 Sulfur
    "S": ((31.9720711744, 0.9499), (32.9714589098, 0.0075), (33.967867004, 0.0425), (35.96708071, 0.0001)),
    # 17 Chlorine
    "Cl": ((34.968852682, 0.7576), (36.965902602, 0.2424)),
    # 18 Argon
    "Ar": ((35.967545105, 0.003336), (37.96273211, 0.000629), (39.9623831237, 0.996035)),
    # 19 Potassium
    "K": ((38.9637064864, 0.932581), (39.963998166, 0.000117), (40.9618252579, 0.067302)),
    # 20 Calcium
    "Ca": ((39.962590863, 0.96941), (41.95861783, 0.00647), (42.95876644, 0.00135), (43.95548156, 0.02086),
        (45.953689, 4e-05), (47.95252276, 0.00187)),
    # 21 Scandium
    "Sc": ((44.95590828, 1.0),),
    # 22 Titanium
    "Ti": ((45.95262772, 0.0825), (46.95175879, 0.0744), (47.94794198, 0.7372), (48.94786568, 0.0541),
        (49.94478689, 0.0518)),
    # 23 Vanadium
    "V": ((49.94715601, 0.0025), (50.94395704, 0.9975)),
    # 24 Chromium
    "Cr": ((49.94604183, 0.04345), (51.94050623, 0.83789), (52.94064815, 0.09501), (53.93887916, 0.02365)),
    # 25 Manganese
    "Mn": ((54.93804391, 1.0),),
    # 26 Iron
    "Fe": ((53.93960899, 0.05845), (55.93493633, 0.91754), (56.93539284, 0.02119), (57.93327443, 0.00282)),
    # 27 Cobalt
    "Co": ((58.93319429, 1.0),),
    # 28 Nickel
    "Ni": ((57.93534241, 0.68077), (59.93078588, 0.26223), (60.93105557, 0.011399), (61.92834537, 0.036346),
        (63.92796682, 0.009255)),
    # 29 Copper
    "Cu": ((62.92959772, 0.6915), (64.9277897, 0.3085)),
    # 30 Zinc
    "Zn": ((63.92914201, 0.4917), (65.92603381, 0.2773), (66.92712775, 0.0404), (67.92484455, 0.1845),
        (69.9253192, 0.0061)),
    # 31 Gallium
    "Ga": ((68.9255735, 0.60108), (70.92470258, 0.39892)),
    # 32 Germanium
    "Ge": ((69.92424875, 0.2057), (71.922075826, 0.2745), (72.923458956, 0.0775), (73.921177761, 0.365),
        (75.921402726, 0.0773)),
    # 33 Arsenic
    "As": ((74.92159457, 1.0),),
    # 34 Selenium
    "Se": ((73.922475934, 0.0089), (75.919213704, 0.0937), (76.919914154, 0.0763), (77.91730928, 0.2377),
        (79.9165218, 0.4961), (81.9166995, 0.0873)),
    # 35 Bromine
    "Br": ((78.9183376, 0.5069), (80.9162897, 0.4931)),
    # 36 Krypton
    "Kr": ((77.92036494, 0.00355), (79.91637808, 0.02286), (81.91348273, 0.11593), (82.91412716, 0.115),
        (83.9114977282, 0.56987), (85.9106106269, 0.17279)),
    # 37 Rubidium
    "Rb": ((84.9117897379, 0.7217), (86.909180531, 0.2783)),
    # 38 Strontium
    "Sr": ((83.9134191, 0.0056), (85.9092606, 0.0986), (86.9088775, 0.07), (87.9056125, 0.8258)),
    # 39 Yttrium
    "Y": ((88.9058403, 1.0),),
    # 40 Zirconium
    "Zr": ((89.9046977, 0.5145), (90.9056396, 0.1122), (91.9050347, 0.1715), (93.9063108, 0.1738),
        (95.9082714, 0.028)),
    # 41 Niobium
    "Nb": ((92.906373, 1.0),),
    # 42 Molybdenum
    "Mo": ((91.90680796, 0.1453), (93.9050849, 0.0915), (94.90583877, 0.1584), (95.90467612, 0.1667),
        (96.90601812, 0.096), (97.90540482, 0.2439), (99.9074718, 0.0982)),
    # 44 Ruthenium
    "Ru": ((95.90759025, 0.0554), (97.9052868, 0.0187), (98.9059341, 0.1276), (99.9042143, 0.126),
        (100.9055769, 0.1706), (101.9043441, 0.3155), (103.9054275, 0.1862)),
    # 45 Rhodium
    "Rh": ((102.905498, 1.0),),
    # 46 Palladium
    "Pd": ((101.9056022, 0.0102), (103.9040305, 0.1114), (104.9050796, 0.2233), (105.9034804, 0.2733),
        (107.9038916, 0.2646), (109.9051722, 0.1172)),
    # 47 Silver
    "Ag": ((106.9050916, 0.51839), (108.9047553, 0.48161)),
    # 48 Cadmium
    "Cd": ((105.9064599, 0.0125), (107.9041834, 0.0089), (109.90300661, 0.1249), (110.90418287, 0.128),
        (111.90276287, 0.2413), (112.90440813, 0.1222), (113.90336509, 0.2873), (115.90476315, 0.0749)),
    # 49 Indium
    "In": ((112.90406184, 0.0429), (114.903878776, 0.9571)),
    # 50 Tin
    "Sn": ((111.90482387, 0.0097), (113.9027827, 0.0066), (114.903344699, 0.0034), (115.9017428, 0.1454),
        (116.90295398, 0.0768), (117.90160657, 0.2422), (118.90331117, 0.0859), (119.90220163, 0.3258),
        (121.9034438, 0.0463), (123.9052766, 0.0579)),
    # 51 Antimony
    "Sb": ((120.903812, 0.5721), (122.9042132, 0.4279)),
    # 52 Tellurium
    "Te": ((119.9040593, 0.0009), (121.9030435, 0.0255), (122.9042698, 0.0089), (123.9028171, 0.0474),
        (124.9044299, 0.0707), (125.9033109, 0.1884), (127.90446128, 0.3174), (129.906222748, 0.3408)),
    # 53 Iodine
    "I": ((126.9044719, 1.0),),
    # 54 Xenon
    "Xe": ((123.905892, 0.000952), (125.9042983, 0.00089), (127.903531, 0.019102), (128.9047808611, 0.264006),
        (129.903509349, 0.04071), (130.90508406, 0.212324), (131.9041550856, 0.269086), (133.90539466, 0.104357),
        (135.907214484, 0.088573)),
    # 55 Caesium
    "Cs": ((132.905451961, 1.0),),
    # 56 Barium
    "Ba": ((129.9063207, 0.00106), (131.9050611, 0.00101), (133.90450818, 0.02417), (134.90568838, 0.06592),
        (135.90457573, 0.07854), (136.90582714, 0.11232), (137.905247, 0.71698)),
    # 57 Lanthanum
    "La": ((137.9071149, 0.0008881), (138.9063563, 0.9991119)),
    # 58 Cerium
    "Ce": ((135.90712921, 0.00185), (137.905991, 0.00251), (139.9054431, 0.8845), (141.9092504, 0.11114)),
    # 59 Praseodymium
    "Pr": ((140.9076576, 1.0),),
    # 60 Neodymium
    "Nd": ((141.907729, 0.27152), (142.90982, 0.12174), (143.910093, 0.23798), (144.9125793, 0.08293),
        (145.9131226, 0.17189), (147.9168993, 0.05756), (149.9209022, 0.05638)),
    # 62 Samarium
    "Sm": ((143.9120065, 0.0307), (146.9149044, 0.1499), (147.9148292, 0.1124), (148.9171921, 0.1382),
        (149.9172829, 0.0738), (151.9197397, 0.2675), (153.9222169, 0.2275)),
    # 63 Europium
    "Eu": ((150.9198578, 0.4781), (152.921238, 0.5219)),
    # 64 Gadolinium
    "Gd": ((151.9197995, 0.002), (153.9208741, 0.0218), (154.9226305, 0.148), (155.9221312, 0.2047),
        (156.9239686, 0.1565), (157.9241123, 0.2484), (159.9270624, 0.2186)),
    # 65 Terbium
    "Tb": ((158.9253547, 1.0),),
    # 66 Dysprosium
    "Dy": ((155.9242847, 0.00056), (157.9244159, 0.00095), (159.9252046, 0.02329), (160.9269405, 0.18889),
        (161.9268056, 0.25475), (162.9287383, 0.24896), (163.9291819, 0.2826)),
    # 67 Holmium
    "Ho": ((164.9303288, 1.0),),
    # 68 Erbium
    "Er": ((161.9287884, 0.00139), (163.9292088, 0.01601), (165.9302995, 0.33503), (166.9320546, 0.22869),
        (167.9323767, 0.26978), (169.9354702, 0.1491)),
    # 69 Thulium
    "Tm": ((168.9342179, 1.0),),
    # 70 Ytterbium
    "Yb": ((167.9338896, 0.00123), (169.9347664, 0.02982), (170.9363302, 0.1409), (171.9363859, 0.2168),
        (172.9382151, 0.16103), (173.9388664, 0.32026), (175.9425764, 0.12996)),
    # 71 Lutetium
    "Lu": ((174.9407752, 0.97401), (175.9426897, 0.02599)),
    # 72 Hafnium
    "Hf": ((173.9400461, 0.0016), (175.9414076, 0.0526), (176.9432277, 0.186), (177.9437058, 0.2728),
        (178.9458232, 0.1362), (179.946557, 0.3508)),
    # 73 Tantalum
    "Ta": ((179.9474648, 0.0001201), (180.9479958, 0.9998799)),
    # 74 Tungsten
    "W": ((179.9467108, 0.0012), (181.94820394, 0.265), (182.95022275, 0.1431), (183.95093092, 0.3064),
        (185.9543628, 0.2843)),
    # 75 Rhenium
    "Re": ((184.9529545, 0.374), (186.9557501, 0.626)),
    # 76 Osmium
    "Os": ((183.9524885, 0.0002), (185.953835, 0.0159), (186.9557474, 0.0196), (187.9558352, 0.1324),
        (188.9581442, 0.1615), (189.9584437, 0.2626), (191.961477, 0.4078)),
    # 77 Iridium
    "Ir": ((190.9605893, 0.373), (192.9629216, 0.627)),
    # 78 Platinum
    "Pt": ((189.9599297, 0.00012), (191.9610387, 0.00782), (193.9626809, 0.3286), (194.9647917, 0.3378),
        (195.96495209, 0.2521), (197.9678949, 0.07356)),
    # 79 Gold
    "Au": ((196.96656879, 1.0),),
    # 80 Mercury
    "Hg": ((195.9658326, 0.0015), (197.9667686, 0.0997), (198.96828064, 0.1687), (199.96832659, 0.231),
        (200.97030284, 0.1318), (201.9706434, 0.2986), (203.97349398, 0.0687)),
    # 81 Thallium
    "Tl": ((202.9723446, 0.2952), (204.9744278, 0.7048)),
    # 82 Lead
    "Pb": ((203.973044, 0.014), (205.9744657, 0.241), (206.9758973, 0.221), (207.9766525, 0.524)),
    # 83 Bismuth
    "Bi": ((208.9803991, 1.0),),
    # 90 Thorium
    "Th": ((232.0380558, 1.0),),
    # 91 Protactinium
    "Pa": ((231.0358842, 1.0),),
    # 92 Uranium
    "U": ((234.0409523, 5.4e-05), (235.0439301, 0.007204), (238.0507884, 0.992742)),
}


def mass_variance(isotopes) -> float:
    """g2 = sum_i f_i (1 - m_i / mbar)^2 of one site from its isotopes.

    Parameters
    ----------
    isotopes : sequence of (mass, fraction)
        Masses (amu, or any unit: only ratios enter) and abundances (renormalised to sum to one).

    Returns
    -------
    float, dimensionless; 0 for a single isotope.
    """
    a = np.asarray(isotopes, dtype=float).reshape(-1, 2)
    m, f = a[:, 0], a[:, 1]
    if (m <= 0).any() or (f < 0).any() or not f.sum() > 0:
        raise ValueError("isotopes need positive masses and non-negative fractions that do not all vanish")
    f = f / f.sum()
    mbar = float(f @ m)
    return float(f @ (1.0 - m / mbar) ** 2)


def mass_variances(symbols, isotopes: dict | None = None) -> np.ndarray:
    """Mass variance g2 of every site from the natural isotopic composition of its element.

    Parameters
    ----------
    symbols : sequence of str
        Element symbols, one per atom (e.g. ``crystal.species`` of the primitive cell).
    isotopes : dict, optional
        symbol -> ((mass, fraction), ...) overriding :data:`ISOTOPES` for some elements (an enriched sample:
        ``{"Si": ((27.9769, 0.9999), (28.9765, 0.0001))}``).

    Returns
    -------
    ndarray (n_atoms,), dimensionless: g2 = sum_i f_i (1 - m_i / mbar)^2 (Tamura, Phys. Rev. B 27, 858 (1983)).

    Raises
    ------
    ValueError
        For a symbol that is not an element with a natural composition (give ``isotopes`` for it).
    """
    table = dict(ISOTOPES)
    if isotopes:
        table.update({str(k).strip().capitalize(): v for k, v in isotopes.items()})
    out = []
    for s in np.atleast_1d(np.asarray(symbols, dtype=str)):
        key = str(s).strip().capitalize()
        if key not in table:
            raise ValueError(f"no natural isotopic composition for {str(s)!r}: give isotopes={{{key!r}: ((mass, "
                             "fraction), ...)}} or the mass variances themselves")
        out.append(mass_variance(table[key]))
    return np.array(out, dtype=float)
