# go-lottery's README promises these targets; `dev`, `test` and `migrate` are for working on the code.
.PHONY: docker-up-env docker-down-env docker-up-app docker-down-app dev start test migrate build

docker-up-env:
	docker compose -f docker-compose-env.yml up -d --wait

docker-down-env:
	docker compose -f docker-compose-env.yml down

docker-up-app:
	docker compose -f docker-compose.yml up -d --build

docker-down-app:
	docker compose -f docker-compose.yml down

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
