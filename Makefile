# go-lottery's README promises these targets; `dev`, `test` and `migrate` are for working on the code.
.PHONY: docker-up-env docker-down-env docker-up-app docker-down-app docker-scale dev start test migrate build repl bench kafka-up kafka-down

docker-up-env:
	docker compose -f docker-compose-env.yml up -d --wait

docker-down-env:
	docker compose -f docker-compose-env.yml down

docker-up-app:
	docker compose -f docker-compose.yml up -d --build

docker-down-app:
	docker compose -f docker-compose.yml down

# make docker-scale SERVICE=lottery N=3 — run N replicas of one role (not `api`, which publishes a host port)
docker-scale:
	docker compose -f docker-compose.yml up -d --no-recreate --scale $(SERVICE)=$(N)

dev:
	npm run dev

start:
	npm start

test:
	npm test

migrate:
	npm run migrate

build:
	npm run build

repl:
	npm run repl

bench:
	npm run bench

kafka-up:
	deploy/kafka/start.sh

kafka-down:
	deploy/kafka/stop.sh
