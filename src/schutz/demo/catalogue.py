"""The demo shop's products: a few Gigaset phones with their prices and blurbs in two languages."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name: str
    price: Decimal
    en: str
    de: str

    def blurb(self, lang: str) -> str:
        return self.de if lang == "de" else self.en


CATALOGUE = (
    Product("CL390", "Gigaset CL390", Decimal("39.99"),
            "Cordless phone with a large display and hands-free talking.",
            "Schnurlostelefon mit großem Display und Freisprechen."),
    Product("A690", "Gigaset A690", Decimal("29.99"),
            "The simple cordless phone: clear sound, long battery life.",
            "Das einfache Schnurlostelefon: klarer Klang, lange Akkulaufzeit."),
    Product("E720", "Gigaset E720", Decimal("79.99"),
            "Robust handset with large keys, protected against dust and splashes.",
            "Robustes Mobilteil mit großen Tasten, geschützt vor Staub und Spritzwasser."),
    Product("COMFORT550", "Gigaset COMFORT 550", Decimal("59.99"),
            "Comfortable cordless phone with a colour display and call protection.",
            "Komfortables Schnurlostelefon mit Farbdisplay und Anrufschutz."),
    Product("GS5", "Gigaset GS5", Decimal("249.00"),
            "Smartphone made in Germany, with a replaceable battery.",
            "Smartphone aus Deutschland, mit wechselbarem Akku."),
)  # fmt: skip
PRODUCTS = {p.sku: p for p in CATALOGUE}
