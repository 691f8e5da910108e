"""Reference ports: EU members with their SOCTA hub, and origin ports on the cocaine routes.

Codes checked against the UNECE UN/LOCODE list; coordinates are the container
terminals' (WGS 84, two decimals).
"""

MEMBER_PORTS = [
    # locode, name, hub, latitude, longitude
    ("BEANR", "Antwerp-Bruges (Antwerp)", "north_west", 51.28, 4.33),
    ("BEZEE", "Antwerp-Bruges (Zeebrugge)", "north_west", 51.33, 3.20),
    ("NLRTM", "Rotterdam", "north_west", 51.95, 4.14),
    ("NLAMS", "Amsterdam", "north_west", 52.41, 4.79),
    ("NLVLI", "Vlissingen", "north_west", 51.44, 3.60),
    ("NLMOE", "Moerdijk", "north_west", 51.70, 4.61),
    ("DEHAM", "Hamburg", "north_west", 53.54, 9.93),
    ("DEBRV", "Bremerhaven", "north_west", 53.57, 8.55),
    ("DEWVN", "Wilhelmshaven", "north_west", 53.59, 8.15),
    ("FRLEH", "Le Havre", "north_west", 49.47, 0.17),
    ("FRDKK", "Dunkerque", "north_west", 51.05, 2.29),
    ("FRFOS", "Fos-sur-Mer (Marseille-Fos)", "southern", 43.42, 4.87),
    ("ESALG", "Algeciras", "south_west", 36.13, -5.44),
    ("ESVLC", "Valencia", "south_west", 39.45, -0.32),
    ("ESBCN", "Barcelona", "south_west", 41.34, 2.16),
    ("PTSIE", "Sines", "south_west", 37.95, -8.87),
    ("PTLEI", "Leixões", "south_west", 41.19, -8.70),
    ("ITGIT", "Gioia Tauro", "southern", 38.45, 15.90),
    ("ITGOA", "Genoa", "southern", 44.41, 8.90),
    ("ITSPE", "La Spezia", "southern", 44.10, 9.84),
    ("ITTRS", "Trieste", "southern", 45.63, 13.77),
    ("GRPIR", "Piraeus", "south_east", 37.94, 23.58),
    ("MTMAR", "Marsaxlokk", "southern", 35.82, 14.54),
    ("SIKOP", "Koper", "south_east", 45.56, 13.74),
    ("ROCND", "Constanța", "south_east", 44.15, 28.65),
    ("PLGDN", "Gdańsk", "north_east", 54.39, 18.71),
    ("PLGDY", "Gdynia", "north_east", 54.53, 18.55),
    ("LTKLJ", "Klaipėda", "north_east", 55.69, 21.13),
    ("LVRIX", "Riga", "north_east", 57.00, 24.08),
    ("LVVNT", "Ventspils", "north_east", 57.40, 21.55),
    ("EETLL", "Tallinn", "north_east", 59.45, 24.77),
    ("EEMUG", "Muuga", "north_east", 59.50, 25.00),
    ("SEGOT", "Gothenburg", "north_east", 57.69, 11.84),
    ("SEHEL", "Helsingborg", "north_east", 56.04, 12.69),
    ("DKAAR", "Aarhus", "north_east", 56.15, 10.23),
    ("FIKTK", "Kotka", "north_east", 60.45, 26.95),
]

ORIGIN_PORTS = [
    ("ECGYE", "Guayaquil", -2.28, -79.91),
    ("ECPSJ", "Posorja", -2.71, -80.25),
    ("ECPBO", "Puerto Bolívar", -3.27, -80.00),
    ("COCTG", "Cartagena", 10.39, -75.53),
    ("COBUN", "Buenaventura", 3.89, -77.07),
    ("COSMR", "Santa Marta", 11.25, -74.22),
    ("COTRB", "Turbo", 8.09, -76.73),
    ("BRSSZ", "Santos", -23.96, -46.30),
    ("BRPNG", "Paranaguá", -25.50, -48.52),
    ("PECLL", "Callao", -12.05, -77.15),
    ("PABLB", "Balboa", 8.95, -79.57),
    ("PAMIT", "Manzanillo (Colón)", 9.36, -79.88),
    ("PAONX", "Colón", 9.35, -79.90),
    ("CRMOB", "Moín", 10.00, -83.08),
    ("SRPBM", "Paramaribo", 5.83, -55.17),
]
