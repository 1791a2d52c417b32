from rserz_soap.cli import main

main()
