"""The push serializers copy their declared fields shallowly (intake/serializers.py): nothing leaks between pushes."""

from intake import payload
from intake.serializers import DeviceInfoSerializer, PushSerializer, UserAdditionalSerializer
from tests.factories import PushPayloadFactory


def test_validating_pushes_leaves_the_declared_fields_unbound():
    # given
    document = PushPayloadFactory()

    # when
    payload.validate(document)
    payload.validate(PushPayloadFactory())

    # then: every class-level field is as declared; each serializer bound copies of its own
    for serializer_class in (PushSerializer, UserAdditionalSerializer, DeviceInfoSerializer):
        for field in serializer_class._declared_fields.values():
            assert field.parent is None
            assert "fields" not in field.__dict__


def test_each_push_gets_its_own_fields_and_errors():
    # given: an invalid push validated first, then a valid one, then the invalid one again
    bad = PushPayloadFactory()
    bad["orderInfo"]["userPhone"] = "not a phone"
    good = PushPayloadFactory()
    first, second = PushSerializer(data=bad), PushSerializer(data=good)

    # when
    first_valid = first.is_valid()
    second_valid = second.is_valid()
    third = PushSerializer(data=bad)
    third_valid = third.is_valid()

    # then
    assert (first_valid, second_valid, third_valid) == (False, True, False)
    assert second.errors == {}
    assert first.errors == third.errors
    assert set(first.errors) == {"orderInfo"}
    assert first.fields["orderInfo"] is not second.fields["orderInfo"]
    assert first.fields["orderInfo"].fields["userPhone"] is not second.fields["orderInfo"].fields["userPhone"]
    assert second.fields["orderInfo"].fields["userPhone"].parent is second.fields["orderInfo"]
