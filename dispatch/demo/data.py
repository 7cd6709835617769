"""Word lists and places for the demo company: a service firm in São Paulo.

Neighbourhood centres are real coordinates (rounded); sites are scattered a few
hundred metres around them, so routes on the board look like a city's.
"""

from __future__ import annotations

CITY = "São Paulo"
COUNTRY = "BR"
TIMEZONE = "America/Sao_Paulo"

# (neighbourhood, latitude, longitude, postal-code prefix)
NEIGHBOURHOODS: tuple[tuple[str, float, float, str], ...] = (
    ("Pinheiros", -23.5670, -46.6930, "05422"),
    ("Vila Mariana", -23.5890, -46.6340, "04101"),
    ("Moema", -23.6010, -46.6650, "04077"),
    ("Santana", -23.5020, -46.6250, "02012"),
    ("Tatuapé", -23.5400, -46.5760, "03310"),
    ("Mooca", -23.5600, -46.5990, "03104"),
    ("Lapa", -23.5270, -46.7040, "05065"),
    ("Butantã", -23.5710, -46.7080, "05503"),
    ("Itaim Bibi", -23.5850, -46.6760, "04530"),
    ("Bela Vista", -23.5610, -46.6470, "01310"),
    ("Liberdade", -23.5580, -46.6350, "01503"),
    ("Perdizes", -23.5370, -46.6770, "05014"),
    ("Santo Amaro", -23.6520, -46.7100, "04747"),
    ("Ipiranga", -23.5890, -46.6080, "04207"),
    ("Vila Madalena", -23.5530, -46.6910, "05433"),
    ("Consolação", -23.5520, -46.6590, "01302"),
    ("Brooklin", -23.6110, -46.6920, "04571"),
    ("Jabaquara", -23.6460, -46.6410, "04307"),
    ("Penha", -23.5280, -46.5430, "03601"),
    ("Barra Funda", -23.5260, -46.6660, "01152"),
)

# The depot: the company's workshop in Barra Funda.
DEPOT = ("Oficina Tecnico", -23.5255, -46.6670)

STREETS = (
    "Rua Augusta", "Rua Teodoro Sampaio", "Avenida Paulista", "Rua dos Pinheiros",
    "Rua Domingos de Morais", "Avenida Ibirapuera", "Rua Voluntários da Pátria",
    "Rua Tuiuti", "Rua da Mooca", "Rua Clélia", "Avenida Vital Brasil", "Rua Joaquim Floriano",
    "Rua Treze de Maio", "Rua Galvão Bueno", "Rua Cardoso de Almeida", "Avenida Adolfo Pinheiro",
    "Rua Bom Pastor", "Rua Harmonia", "Rua da Consolação", "Rua Barão do Triunfo",
    "Avenida Jabaquara", "Rua Padre João", "Rua Lopes Chaves", "Rua Cardeal Arcoverde",
)

FIRST_NAMES = (
    "Ana", "Bruno", "Carla", "Diego", "Eduarda", "Felipe", "Gabriela", "Henrique", "Isabela",
    "João", "Karina", "Lucas", "Mariana", "Nicolas", "Otávio", "Paula", "Rafael", "Sofia",
    "Thiago", "Vanessa", "William", "Yasmin", "Camila", "Gustavo", "Letícia", "Marcelo",
    "Patrícia", "Ricardo", "Fernanda", "Rodrigo",
)
SURNAMES = (
    "Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira",
    "Lima", "Gomes", "Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares",
    "Fernandes", "Vieira", "Barbosa", "Rocha", "Dias", "Nascimento", "Andrade", "Moreira",
)
BUSINESS_KINDS = (
    "Padaria", "Restaurante", "Clínica", "Escritório", "Mercado", "Farmácia", "Academia",
    "Hotel", "Laboratório", "Cafeteria", "Escola", "Pizzaria", "Consultório", "Lanchonete",
)
BUSINESS_SUFFIXES = ("Ltda", "ME", "EIRELI", "S.A.")

# Item groups: (code, name, required skills, minutes of a visit, labour code, share). The
# share is how common the equipment is among the customers' items; with these minutes a
# visit averages about 50 minutes of service, so a technician's 8-hour day holds 7 or 8.
ITEM_GROUPS = (
    ("SPLIT-AC", "Ar-condicionado split", ("hvac",), 45, "TEC-HVAC", 6),
    ("CENTRAL-AC", "Ar-condicionado central (chiller)", ("hvac", "electrical"), 120, "TEC-HVAC", 1),
    ("FRIDGE-COM", "Refrigerador comercial", ("refrigeration",), 60, "TEC-REF", 3),
    ("COLD-ROOM", "Câmara fria", ("refrigeration", "electrical"), 90, "TEC-REF", 1),
    ("ESPRESSO", "Máquina de café espresso", ("coffee",), 40, "TEC-GEN", 4),
    ("GENERATOR", "Gerador a diesel", ("electrical", "engines"), 90, "TEC-ELE", 1),
    ("POS", "Terminal de pagamento (POS)", ("electronics",), 20, "TEC-GEN", 4),
    ("OVEN", "Forno combinado", ("electrical", "gas"), 60, "TEC-ELE", 2),
)
SKILLS = (
    ("hvac", "Climatização"), ("refrigeration", "Refrigeração"), ("electrical", "Elétrica"),
    ("coffee", "Máquinas de café"), ("engines", "Motores a diesel"),
    ("electronics", "Eletrônica"), ("gas", "Instalações a gás"),
)
# A technician's trade (technicians take them in turn; some learn one skill more): every
# item group has a few technicians with all of its skills, hvac and refrigeration the most.
TRADES = (
    ("hvac", "electrical"), ("refrigeration", "electrical"), ("coffee", "electronics"),
    ("hvac",), ("hvac", "refrigeration"), ("electrical", "engines", "gas"),
    ("electronics", "coffee"), ("hvac", "electrical", "gas"),
)
MODELS = {
    "SPLIT-AC": ("Springer Midea 12000 BTU", "LG Dual Inverter 18000", "Samsung WindFree 9000"),
    "CENTRAL-AC": ("Carrier AquaForce 30XA", "Trane CenTraVac"),
    "FRIDGE-COM": ("Gelopar GRCS-2P", "Metalfrio VB40", "Fricon VCFM 402"),
    "COLD-ROOM": ("Frigostar CF-12", "Elgin Cold 20"),
    "ESPRESSO": ("La Cimbali M23", "Rancilio Classe 5", "Nuova Simonelli Appia"),
    "GENERATOR": ("Cummins C150D6", "Stemac 85 kVA"),
    "POS": ("Ingenico Move 5000", "PAX D195"),
    "OVEN": ("Rational iCombi Pro", "Prática Miniconv"),
}
DEFECTS = (
    "Não gela", "Vazamento de água", "Ruído excessivo", "Não liga", "Erro E5 no painel",
    "Compressor desarma", "Pressão baixa", "Manutenção preventiva", "Cheiro de queimado",
    "Temperatura oscilando", "Display apagado", "Vazamento de gás",
)
# Parts: (sku, name, price BRL, cost BRL, VAT %)
PARTS = (
    ("CAP-35UF", "Capacitor 35 µF", "89.90", "41.00", "18"),
    ("GAS-R410A", "Gás refrigerante R410A (kg)", "149.00", "88.00", "18"),
    ("FIL-SPLIT", "Filtro de ar split", "39.90", "12.50", "18"),
    ("TERM-DIG", "Termostato digital", "219.00", "120.00", "18"),
    ("MOTOR-VENT", "Motor ventilador 1/6 HP", "389.00", "210.00", "18"),
    ("RES-GRUPO", "Resistência do grupo espresso", "259.00", "140.00", "18"),
    ("VED-PORTA", "Borracha de vedação de porta", "129.00", "55.00", "18"),
    ("BAT-POS", "Bateria para POS", "99.00", "45.00", "18"),
    ("CORREIA-A42", "Correia A42", "59.00", "22.00", "18"),
    ("PLACA-CTRL", "Placa de controle eletrônica", "749.00", "420.00", "18"),
)
# Labour: (code, name, hourly rate, cost rate, VAT/ISS %) — R$354/h is seed 004's rate.
LABOUR = (
    ("TEC-HVAC", "Mão de obra técnica climatização", "354.00", "95.00", "5"),
    ("TEC-REF", "Mão de obra técnica refrigeração", "320.00", "90.00", "5"),
    ("TEC-ELE", "Mão de obra técnica elétrica", "290.00", "85.00", "5"),
    ("TEC-GEN", "Mão de obra técnica geral", "240.00", "70.00", "5"),
    ("DESLOC", "Deslocamento", "120.00", "40.00", "5"),
)
SUPPLIERS = (
    ("Refrigeração Dufrio Ltda", "SP"),
    ("Elgin Distribuidora S.A.", "SP"),
    ("Cimbali Brasil Comércio Ltda", "SP"),
)
