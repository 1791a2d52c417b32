"""The baseline of the SOAP benchmark: an unsigned 5-field spyne echo (architecture.md §8) under gunicorn."""

from __future__ import annotations

from spyne import Application, ComplexModel, Integer, ServiceBase, Unicode, rpc
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication


class Person(ComplexModel):  # type: ignore[misc]
    __namespace__ = "urn:bench:echo"
    FAM = Unicode
    IM = Unicode
    OT = Unicode
    W = Integer
    DR = Unicode


class Echo(ServiceBase):  # type: ignore[misc]
    @rpc(Person, _returns=Person)
    def echo(ctx, person):  # noqa: N805 - spyne's calling convention
        return person


application = WsgiApplication(
    Application([Echo], tns="urn:bench:echo", in_protocol=Soap11(validator="lxml"), out_protocol=Soap11())
)

BODY = (
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:e="urn:bench:echo">'
    "<soap:Body><e:echo><e:person><e:FAM>Иванов</e:FAM><e:IM>Иван</e:IM><e:OT>Иванович</e:OT><e:W>1</e:W>"
    "<e:DR>1980-05-15</e:DR></e:person></e:echo></soap:Body></soap:Envelope>"
)
