"""The СМЭВ transform against the rules of the methodological recommendations (reference
``SmevTransformSpi``), including the cases where PyPI ``smev3transform`` departs from them.

Scenarios 1–4 are the test cases of the recommendations (their comments name the rules they test),
as carried by the public test suites of ports of ``SmevTransformSpi``.
"""

from __future__ import annotations

import pytest
from lxml import etree

from rserz_soap.xmlsig.c14n import (
    EXC_C14N,
    SMEV_TRANSFORM,
    TransformError,
    apply_transforms,
    exclusive_c14n,
    get_transform,
)
from rserz_soap.xmlsig.smev_transform import SmevTransform, namespace_aliases, smev_transform


def _t(xml: str) -> str:
    return smev_transform(xml.encode("utf-8")).decode("utf-8")


SCENARIO_1 = """<?xml version="1.0" encoding="UTF-8"?>
<!-- Тестирование правил 1, 2, 6:
	- XML declaration выше, этот комментарий, и следующая за ним processing instruction должны быть вырезаны;
	- Переводы строки должны быть удалены;
	- Namespace prefixes заменяются на автоматически сгенерированные.
-->
<?xml-stylesheet type="text/xsl" href="style.xsl"?>

<elementOne xmlns="http://test/1">
	<qwe:elementTwo xmlns:qwe="http://test/2">asd</qwe:elementTwo>
</elementOne>"""

SCENARIO_2 = """<?xml version="1.0" encoding="UTF-8"?>
<!-- Всё то же, что в test case 1, плюс правила 4 и 5. -->
<?xml-stylesheet type="text/xsl" href="style.xsl"?>

<elementOne xmlns="http://test/1" xmlns:qwe="http://test/2" xmlns:asd="http://test/3">
	<qwe:elementTwo>
		<asd:elementThree>
			<!-- Проверка обработки default namespace. -->
			<elementFour> z x c </elementFour>
			<!-- Для одного namespace объявляется несколько префиксов во вложенных элементах. -->
			<qqq:elementFive xmlns:qqq="http://test/2"> w w w </qqq:elementFive>
		</asd:elementThree>
		<!-- Prefix объявлен выше, чем в нормальной форме: переносится ниже, и в sibling-элементах
		для одного namespace генерируется несколько префиксов. -->
		<asd:elementSix>eee</asd:elementSix>
	</qwe:elementTwo>
</elementOne> """

SCENARIO_3 = """<?xml version="1.0" encoding="UTF-8"?>
<!-- Всё то же, что в test case 1, плюс правила 3, 7 и 8. -->
<?xml-stylesheet type="text/xsl" href="style.xsl"?>

<elementOne xmlns="http://test/1" xmlns:qwe="http://test/2" xmlns:asd="http://test/3">
	<qwe:elementTwo>
		<asd:elementThree xmlns:wer="http://test/a" xmlns:zxc="http://test/0" wer:attZ="zzz" attB="bbb" attA="aaa" zxc:attC="ccc" asd:attD="ddd" asd:attE="eee" qwe:attF="fff"/>
	</qwe:elementTwo>
</elementOne>"""

SCENARIO_4 = """<ns2:SenderProvidedRequestData xmlns:ns2="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.0" Id="SIGNED_BY_CONSUMER">
 <MessagePrimaryContent xmlns="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/basic/1.0">
 <SomeRequest:SomeRequest xmlns:SomeRequest="urn://x-artifacts-it-ru/vs/smev/test/test-business-data/1.0">
 <x xmlns="urn://x-artifacts-it-ru/vs/smev/test/test-business-data/1.0">qweqwe</x>
 </SomeRequest:SomeRequest>
 </MessagePrimaryContent>
</ns2:SenderProvidedRequestData>"""


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            SCENARIO_1,
            '<ns1:elementOne xmlns:ns1="http://test/1"><ns2:elementTwo xmlns:ns2="http://test/2">asd'
            "</ns2:elementTwo></ns1:elementOne>",
        ),
        (
            SCENARIO_2,
            '<ns1:elementOne xmlns:ns1="http://test/1"><ns2:elementTwo xmlns:ns2="http://test/2">'
            '<ns3:elementThree xmlns:ns3="http://test/3"><ns1:elementFour> z x c </ns1:elementFour>'
            "<ns2:elementFive> w w w </ns2:elementFive></ns3:elementThree>"
            '<ns4:elementSix xmlns:ns4="http://test/3">eee</ns4:elementSix></ns2:elementTwo></ns1:elementOne>',
        ),
        (
            SCENARIO_3,
            '<ns1:elementOne xmlns:ns1="http://test/1"><ns2:elementTwo xmlns:ns2="http://test/2">'
            '<ns3:elementThree xmlns:ns3="http://test/3" xmlns:ns4="http://test/0" xmlns:ns5="http://test/a" '
            'ns4:attC="ccc" ns2:attF="fff" ns3:attD="ddd" ns3:attE="eee" ns5:attZ="zzz" attA="aaa" attB="bbb">'
            "</ns3:elementThree></ns2:elementTwo></ns1:elementOne>",
        ),
        (
            SCENARIO_4,
            '<ns1:SenderProvidedRequestData xmlns:ns1="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.0" '
            'Id="SIGNED_BY_CONSUMER"><ns2:MessagePrimaryContent '
            'xmlns:ns2="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/basic/1.0">'
            '<ns3:SomeRequest xmlns:ns3="urn://x-artifacts-it-ru/vs/smev/test/test-business-data/1.0">'
            "<ns3:x>qweqwe</ns3:x></ns3:SomeRequest></ns2:MessagePrimaryContent></ns1:SenderProvidedRequestData>",
        ),
    ],
    ids=["rules-1-2-6", "rules-4-5", "rules-3-7-8", "smev-request"],
)
def test_scenarios_of_the_recommendations(source: str, expected: str) -> None:
    assert _t(source) == expected


# --- where PyPI smev3transform departs from the reference ----------------------------------------------


def test_text_without_letters_or_digits_is_kept() -> None:
    # <ns3:PlaceType>-</ns3:PlaceType> in the СНИЛС response: the reference keeps "-" (trim() leaves it).
    assert _t('<a xmlns="urn:a"><b>-</b><c>.</c><d> </d></a>') == (
        '<ns1:a xmlns:ns1="urn:a"><ns1:b>-</ns1:b><ns1:c>.</ns1:c><ns1:d></ns1:d></ns1:a>'
    )


def test_mixed_content_is_kept() -> None:
    assert _t('<a xmlns="urn:a">before <b>inner</b> after</a>') == (
        '<ns1:a xmlns:ns1="urn:a">before <ns1:b>inner</ns1:b> after</ns1:a>'
    )


def test_attribute_values_are_escaped_as_the_jdk_writer_does() -> None:
    source = '<a xmlns="urn:a" v="&lt;x&gt; &amp; &quot;q&quot; \'s\'" t="tab&#9;nl&#10;"/>'
    assert _t(source) == (
        '<ns1:a xmlns:ns1="urn:a" t="tab\tnl\n" v="&lt;x&gt; &amp; &quot;q&quot; \'s\'"></ns1:a>'
    )


def test_text_is_escaped_as_the_jdk_writer_does() -> None:
    assert _t('<a xmlns="urn:a">1 &lt; 2 &amp;&amp; 3 &gt; 2 "q" \'s\'</a>') == (
        '<ns1:a xmlns:ns1="urn:a">1 &lt; 2 &amp;&amp; 3 &gt; 2 "q" \'s\'</ns1:a>'
    )


# --- finer points of the reference ----------------------------------------------------------------------


def test_whitespace_is_what_java_trim_removes() -> None:
    assert _t('<a xmlns="urn:a">\r\n\t </a>') == '<ns1:a xmlns:ns1="urn:a"></ns1:a>'
    assert _t('<a xmlns="urn:a"> \u00a0 </a>') == '<ns1:a xmlns:ns1="urn:a"> \u00a0 </ns1:a>'  # NBSP stays


def test_a_comment_splits_text_into_two_nodes() -> None:
    # StAX reports "x", comment, "   ": the second text is whitespace only and is dropped on its own.
    assert _t('<a xmlns="urn:a">x<!-- c -->   </a>') == '<ns1:a xmlns:ns1="urn:a">x</ns1:a>'


def test_prefix_counter_runs_over_the_whole_fragment() -> None:
    assert _t('<a xmlns="urn:a"><b xmlns="urn:b"/><c xmlns="urn:b"/></a>') == (
        '<ns1:a xmlns:ns1="urn:a"><ns2:b xmlns:ns2="urn:b"></ns2:b><ns3:c xmlns:ns3="urn:b"></ns3:c></ns1:a>'
    )


def test_unqualified_element_gets_an_empty_namespace_prefix_as_the_reference_writes_it() -> None:
    assert _t("<a><b/></a>") == '<ns1:a xmlns:ns1=""><ns1:b></ns1:b></ns1:a>'


def test_attribute_in_the_element_namespace_reuses_its_prefix() -> None:
    assert _t('<p:a xmlns:p="urn:a" p:x="1" y="2"/>') == '<ns1:a xmlns:ns1="urn:a" ns1:x="1" y="2"></ns1:a>'


def test_namespace_aliases_are_explicit_and_scoped() -> None:
    source = b'<a xmlns="urn:one"><b/></a>'
    assert smev_transform(source, aliases={"urn:one": "urn:two"}) == (
        b'<ns1:a xmlns:ns1="urn:two"><ns1:b></ns1:b></ns1:a>'
    )
    transform = SmevTransform()
    with namespace_aliases({"urn:one": "urn:two"}):
        assert b"urn:two" in bytes(transform.apply(source, None))  # type: ignore[arg-type]
    assert b"urn:one" in bytes(transform.apply(source, None))  # type: ignore[arg-type]


def test_registered_after_exc_c14n() -> None:
    assert isinstance(get_transform(SMEV_TRANSFORM), SmevTransform)
    doc = etree.fromstring(b'<x:r xmlns:x="urn:r" xmlns:unused="urn:u"><x:e Id="e">v</x:e></x:r>')
    element = doc[0]
    octets = apply_transforms(element, [(EXC_C14N, None), (SMEV_TRANSFORM, None)], signature=doc)
    assert octets == b'<ns1:e xmlns:ns1="urn:r" Id="e">v</ns1:e>'
    assert octets == smev_transform(exclusive_c14n(element))
    # A node-set (no c14n before it) is canonicalised first, as Santuario does.
    assert apply_transforms(element, [(SMEV_TRANSFORM, None)], signature=doc) == octets


def test_malformed_input_is_a_transform_error() -> None:
    with pytest.raises(TransformError):
        smev_transform(b"<a><b></a>")
