-- A delivery's body is stored once per event and form, not per delivery: subscriptions sent the
-- same bytes share one row, and the row each claim and answer rewrites (a non-HOT update, the
-- status and lease being in its partial indexes' predicates) no longer carries ~800 bytes of
-- CloudEvent. Deliveries queued before this migration keep their body inline (`body`); new ones
-- point at `delivery_bodies` (`body_id`): always exactly one of the two. Neither table is ever
-- deleted from (retention trims the attempts only), so no foreign key checks every insert.
CREATE TABLE delivery_bodies (
    id   bigserial PRIMARY KEY,
    body bytea     NOT NULL
);
ALTER TABLE deliveries ALTER COLUMN body DROP NOT NULL;
ALTER TABLE deliveries ADD COLUMN body_id bigint;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_one_body CHECK ((body IS NULL) <> (body_id IS NULL));
