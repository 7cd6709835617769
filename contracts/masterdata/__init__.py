"""Master data shared by contracts and orders: customers, contacts, sites, suppliers,
skills, item groups, service items, the product catalogue and the labour catalogue."""
