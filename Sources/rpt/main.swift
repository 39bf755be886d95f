// placeholder, replaced by the CLI
print("rpt")
